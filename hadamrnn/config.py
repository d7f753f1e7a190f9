"""Run configuration: a TOML file validated against a typed schema.

A config has three tables, ``[task]``, ``[model]`` and ``[train]``, plus an optional ``name``. An
unknown key, a wrong type or an out-of-range value is a :class:`~hadamrnn.errors.ConfigError` that
names the key, what was expected and what was received.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ConfigError
from .core import check_block_size, check_hidden_size
from .kinds import HADAMRNN, KIND_OPTIONS, KINDS, MODEL_KINDS, check_kind_options

import tomllib

__all__ = [
    "CopyTaskConfig",
    "MNISTTaskConfig",
    "IMDBTaskConfig",
    "GLUETaskConfig",
    "HARTaskConfig",
    "ArraysTaskConfig",
    "IDXImagesTaskConfig",
    "TaskConfig",
    "TASK_CONFIGS",
    "ModelConfig",
    "TrainConfig",
    "RunConfig",
    "load_config",
    "parse_config",
    "apply_overrides",
]


class _Strict(BaseModel):
    # allow_inf_nan=False: an infinite or NaN rate, clip or dropout is never meant, and would only
    # surface as a FloatingPointError at the first step.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


def _at_most(limit: int | float, why: str) -> AfterValidator:
    """An upper bound whose message says why it exists (pydantic's ``le`` cannot say why)."""

    def check(value: Any) -> Any:
        if value is not None and value > limit:
            raise ValueError(f"must be at most {limit:,} ({why}), got {value!r}")
        return value

    return AfterValidator(check)


# Strict: TOML, JSON and --set all give real integers and booleans, so a boolean where a count is
# expected (``epochs = true``, silently 1) or a float count is a mistake, never a conversion.
_Int = Annotated[int, Strict()]
_Float = Annotated[float, Strict()]  # strict floats still accept integers (lr = 1)
_Bool = Annotated[bool, Strict()]

_SAMPLES = _at_most(2**31 - 1, "no split of a data set holds more samples")
_GENERATED = _at_most(10**9, "sequences generated per epoch; a larger epoch never ends in practice")
_SEQUENCE = _at_most(2**20, "the sequence length T of one step's inputs and states, B·T of each")
_VOCAB = _at_most(2**24, "the largest vocabulary a .hrnn model file stores")
_BATCH = _at_most(2**16, "a batch holds B·T inputs and B·T·n states in memory")
_RATE = _at_most(10.0, "a larger Adam step diverges at once; the paper uses 1e-4 to 1e-3")
_SEED = _at_most(2**64 - 1, "torch.manual_seed takes a seed below 2**64")
#: Hidden sizes: the .hrnn model file indexes at most 2**20 rows; baselines are bounded lower by
#: their dense matrices (see ModelConfig._hidden_size_fits_kind).
MAX_HIDDEN_SIZE = 2**20
MAX_DENSE_HIDDEN_SIZE = 2**13
_HIDDEN = _at_most(MAX_HIDDEN_SIZE, "the largest n a .hrnn model file stores")


class CopyTaskConfig(_Strict):
    name: Literal["copy"] = Field("copy", description="the task")
    seq_len: Annotated[_Int, _SEQUENCE] = Field(1000, ge=2, description="total length T of a sequence")
    copy_length: _Int = Field(10, ge=1, description="K, the number of symbols to copy")
    train_size: Annotated[_Int, _GENERATED] = Field(512_000, ge=1, description="training sequences per epoch (generated on the fly)")
    val_size: Annotated[_Int, _GENERATED] = Field(2_000, ge=1, description="validation sequences")
    test_size: Annotated[_Int, _GENERATED] = Field(2_000, ge=1, description="test sequences")


_LIMIT = "keep only the first samples of this split (quick runs); omit for all"


class MNISTTaskConfig(_Strict):
    name: Literal["smnist", "pmnist"] = Field(description="smnist (pixel order) or pmnist (fixed permutation)")
    train_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description=_LIMIT)
    val_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description=_LIMIT)
    test_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description=_LIMIT)


class IMDBTaskConfig(_Strict):
    name: Literal["imdb"] = Field(description="the task")
    vocab_size: Annotated[_Int, _VOCAB] = Field(10_000, ge=3, description="token ids in all, padding (0) and out-of-vocabulary (1) included")
    max_tokens: Annotated[_Int, _SEQUENCE] = Field(500, ge=1, description="T: each review keeps its last max_tokens tokens")
    cache: _Bool = Field(True, description="cache the tokenised arrays ($HADAMRNN_CACHE or ~/.cache/hadamrnn)")
    train_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description=_LIMIT)
    val_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description=_LIMIT)
    test_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description=_LIMIT)


class GLUETaskConfig(_Strict):
    name: Literal["sst2", "qqp"] = Field(description="the GLUE task")
    vocab_size: Annotated[_Int, _VOCAB] = Field(30_522, ge=4, description="most token ids of the word vocabulary built from train.tsv")
    max_tokens: Annotated[_Int, _SEQUENCE] = Field(128, ge=3, description="T: tokens per sentence (or question pair)")
    balanced: _Bool = Field(True, description="class-balanced training batches (the paper)")
    train_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description="keep only the first rows of train.tsv (quick runs)")
    val_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description="keep only the first rows of dev.tsv (quick runs)")
    val_rows: Annotated[_Int, _SAMPLES] | None = Field(
        None, ge=1, description="hold out this many rows of train.tsv (a fixed draw) for validation; omit to validate on dev.tsv, "
        "which is also the test split"
    )


class HARTaskConfig(_Strict):
    name: Literal["har"] = Field(description="the task")
    source: Literal["auto", "uci", "hapt"] = Field(
        "auto", description="uci: the 'UCI HAR Dataset' folder; hapt: HAPT.pkl.gz windowed; auto: uci if present"
    )
    signals: Literal["uci", "raw"] = Field(
        "uci", description="uci: the nine UCI HAR signals (from HAPT recordings through the UCI filters); "
        "raw: the six raw HAPT channels (hapt source only)"
    )
    val_subjects: _Int = Field(4, ge=1, description="training subjects held out for validation (a fixed seeded draw)")
    train_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description=_LIMIT)
    val_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description=_LIMIT)
    test_limit: Annotated[_Int, _SAMPLES] | None = Field(None, ge=1, description=_LIMIT)


_USER_PATH = "absolute, or relative to the current directory, else to the data directory (--data-dir, $HADAMRNN_DATA)"


class ArraysTaskConfig(_Strict):
    name: Literal["arrays"] = Field(description="your own arrays (see hadamrnn.tasks.arrays)")
    path: str = Field(description=f"a .npz file, or a folder of .npy files; {_USER_PATH}")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="share of the training samples drawn for validation when the file has no x_val")
    test_fraction: float = Field(0.1, gt=0, lt=1, description="share of the training samples drawn for testing when the file has no x_test")
    split_seed: int = Field(0, description="seeds the draw of the validation and test samples")
    num_classes: int | None = Field(None, ge=2, description="number of classes; omit for the largest label plus one")
    vocab_size: int | None = Field(None, ge=1, description="token ids in all (token inputs); omit for the largest id plus one")


class IDXImagesTaskConfig(_Strict):
    name: Literal["idx_images"] = Field(description="images in IDX files, read as sequences (see hadamrnn.tasks.idx_images)")
    path: str = Field(description=f"the folder of the four IDX files; {_USER_PATH}")
    pixels_per_step: int = Field(1, ge=1, description="pixels read per step: 1 pixel by pixel, the image width row by row")
    val_fraction: float = Field(1 / 6, gt=0, lt=1, description="the last share of the training file that validates")
    num_classes: int | None = Field(None, ge=2, description="number of classes; omit for the largest label plus one")
    train_images: str = Field("train-images-idx3-ubyte.gz", description="file name of the training images (.gz or not)")
    train_labels: str = Field("train-labels-idx1-ubyte.gz", description="file name of the training labels")
    test_images: str = Field("t10k-images-idx3-ubyte.gz", description="file name of the test images")
    test_labels: str = Field("t10k-labels-idx1-ubyte.gz", description="file name of the test labels")
    train_limit: int | None = Field(None, ge=1, description=_LIMIT)
    val_limit: int | None = Field(None, ge=1, description=_LIMIT)
    test_limit: int | None = Field(None, ge=1, description=_LIMIT)


#: The ``[task]`` table: one of the task schemas, chosen by its ``name``.
TaskConfig = Annotated[
    Union[
        CopyTaskConfig, MNISTTaskConfig, IMDBTaskConfig, GLUETaskConfig, HARTaskConfig, ArraysTaskConfig, IDXImagesTaskConfig
    ],
    Field(discriminator="name"),
]
# The schema of each task name (the ``name`` tag selects the table's schema).
TASK_CONFIGS: dict[str, type[BaseModel]] = {
    "copy": CopyTaskConfig,
    "smnist": MNISTTaskConfig,
    "pmnist": MNISTTaskConfig,
    "imdb": IMDBTaskConfig,
    "sst2": GLUETaskConfig,
    "qqp": GLUETaskConfig,
    "har": HARTaskConfig,
    "arrays": ArraysTaskConfig,
    "idx_images": IDXImagesTaskConfig,
}


class ModelConfig(_Strict):
    kind: Literal[MODEL_KINDS] = Field(  # type: ignore[valid-type]
        HADAMRNN, description="; ".join(f"{kind.name}: {kind.description}" for kind in KINDS.values())
    )
    hidden_size: Annotated[_Int, _HIDDEN] = Field(
        128, ge=1, description="n; a Hadamard order r*2^k for hadamrnn, any size for the baselines"
    )
    block_size: _Int | None = Field(None, ge=1, description="m for Block-HadamRNN, a Hadamard order dividing n; None for full")
    recurrence: Literal["linear", "relu"] = Field("linear", description="linear (the paper) or relu (vanilla ORNN)")
    input_bits: _Int | None = Field(4, ge=1, le=16, description="bit-width p of U; omit for float")
    output_bits: _Int | None = Field(4, ge=1, le=16, description="bit-width p of V; omit for float")
    sign_clip: _Float | None = Field(None, gt=0, description="clip of the sign STE gradient; omit for none")
    sign_seed: Annotated[_Int, _SEED] | None = Field(
        None, ge=0, description="seed of the initial signs of W alone (the rest keeps train.seed's draws); omit to draw them with the rest"
    )
    backend: Literal["auto", "reference", "dense", "native"] = Field("auto", description="how W h is computed (see HadamRNN)")
    embedding_dim: Annotated[_Int, _at_most(4096, "the float embedding holds vocab_size·embedding_dim values")] | None = Field(
        None, ge=1, description="size of the learned word embedding (token tasks only)"
    )
    embedding_dropout: _Float = Field(0.0, ge=0, lt=1, description="dropout on the embedding output during training")
    embedding_init_std: _Float | None = Field(
        None, gt=0, description="standard deviation of the initial embedding (token tasks only); omit for N(0, 1)"
    )
    recurrent_bits: _Int | None = Field(None, ge=1, le=16, description="bit-width p of W for qornn (required there)")

    @model_validator(mode="before")
    @classmethod
    def _bit_defaults_follow_kind(cls, data: Any) -> Any:
        # A TOML file cannot write None, so for a kind whose U and V default to float, "omit" has
        # to mean float.
        name = data.get("kind", HADAMRNN) if isinstance(data, dict) else None
        kind = KINDS.get(name) if isinstance(name, str) else None  # anything else fails the kind field
        if kind is None:
            return data
        if kind.float_by_default:
            data = {"input_bits": None, "output_bits": None, **data}
        elif kind.takes("recurrent_bits") and data.get("recurrent_bits") is not None:
            p = data["recurrent_bits"]
            data = {"input_bits": p, "output_bits": p, **data}
        return data

    @field_validator("hidden_size")
    @classmethod
    def _hidden_size_fits_kind(cls, hidden_size: int, info: ValidationInfo) -> int:
        kind = KINDS.get(info.data.get("kind"))
        if kind is not None and kind.hadamard_sizes:
            check_hidden_size(hidden_size)
        elif kind is not None and hidden_size > MAX_DENSE_HIDDEN_SIZE:
            raise ValueError(
                f"must be at most {MAX_DENSE_HIDDEN_SIZE:,} for model.kind={kind.name!r} (its recurrent "
                f"weights are dense n×n float matrices: {4 * MAX_DENSE_HIDDEN_SIZE**2 // 2**20} MiB each at "
                f"n = {MAX_DENSE_HIDDEN_SIZE}), got {hidden_size}"
            )
        return hidden_size

    @field_validator("block_size")
    @classmethod
    def _block_size_divides_hidden_size(cls, block_size: int | None, info: ValidationInfo) -> int | None:
        kind = KINDS.get(info.data.get("kind"))
        # Without a valid hidden_size there is nothing to divide (its own error is reported).
        if kind is not None and kind.takes("block_size") and "hidden_size" in info.data:
            check_block_size(info.data["hidden_size"], block_size)
        return block_size

    @model_validator(mode="after")
    def _options_fit_kind(self) -> "ModelConfig":
        options = {option: getattr(self, option) for option in KIND_OPTIONS}
        check_kind_options(self.kind, options, "model.")
        return self


#: The defaults of the sign search's options (``train.search_*``).
SEARCH_DEFAULTS: dict[str, int | float] = {
    "search_evaluations": 300,
    "search_flips": 4,
    "search_fit_sequences": 4000,
    "search_score_sequences": 2000,
    "search_ridge": 1e-2,
}


class TrainConfig(_Strict):
    epochs: Annotated[_Int, _at_most(10**6, "a million passes over the training set")] = Field(
        10, ge=1, description="passes over the training set"
    )
    batch_size: Annotated[_Int, _BATCH] = Field(128, ge=1, description="training batch size")
    eval_batch_size: Annotated[_Int, _BATCH] = Field(500, ge=1, description="batch size for validation and test")
    lr: Annotated[_Float, _RATE] = Field(1e-4, gt=0, description="Adam learning rate")
    sign_lr: Annotated[_Float, _RATE] | None = Field(
        None, ge=0, description="learning rate of the latent signs; None uses lr (the paper), 0 freezes them"
    )
    sign_optimizer: Literal["adam", "bop", "frozen", "search"] = Field(
        "adam",
        description="how the signs of W learn: adam (the STE, with sign_lr), bop (flips, see hadamrnn.optim.Bop), "
        "frozen (they keep their initial values), search (searched before training, then frozen; see "
        "hadamrnn.sign_search)",
    )
    sign_gradient: Literal["ste", "radial_free"] = Field(
        "ste", description="what the sign optimizer receives: ste (the straight-through gradient) or radial_free "
        "(without its component along u, which only asks to rescale W)"
    )
    bop_gamma: _Float = Field(1e-4, gt=0, le=1, description="bop: adaptivity rate of the gradient's moving average")
    bop_threshold: _Float = Field(1e-6, ge=0, description="bop: a sign flips when |average| exceeds it")
    bop_threshold_decay: _Float = Field(
        1.0, gt=0, description="bop: factor applied to bop_threshold after every epoch (above 1 flips less and less)"
    )
    max_flips: _Int | None = Field(None, ge=1, description="bop: flip budget per step; omit for none")
    # The search options are None unless given, like max_flips, so that a stored config of any
    # other recipe parses again on resume; the trainer reads them through search_options().
    search_evaluations: _Int | None = Field(None, ge=0, description="search: proposals scored before training (300)")
    search_flips: _Int | None = Field(None, ge=1, description="search: signs flipped by each proposal (4)")
    search_fit_sequences: _Int | None = Field(
        None, ge=1, description="search: training sequences whose features fit the ridge read-out (4000)"
    )
    search_score_sequences: _Int | None = Field(
        None, ge=1, description="search: further training sequences the fitted read-out is scored on (2000)"
    )
    search_ridge: _Float | None = Field(None, gt=0, description="search: ridge penalty per fitted sequence (0.01)")
    gamma: _Float = Field(0.98, gt=0, le=1, description="StepLR factor applied every epoch")
    seed: Annotated[_Int, _SEED] = Field(712, ge=0, description="seeds the initialisation and every data stream")
    checkpoint_every: Annotated[_Int, _at_most(2**31 - 1, "optimizer steps are counted in 31 bits")] = Field(
        500, ge=1, description="optimizer steps between checkpoints"
    )
    keep_checkpoints: Annotated[_Int, _at_most(1000, "each checkpoint is a full copy of the weights")] = Field(
        2, ge=1, description="newest checkpoints kept on disk"
    )
    num_threads: Annotated[_Int, _at_most(1024, "more threads than any machine has cores")] | None = Field(
        None, ge=1, description="torch threads; None keeps torch's default"
    )
    embedding_weight_decay: _Float | None = Field(
        None, ge=0, description="decoupled weight decay of the embedding alone (AdamW's, times lr); omit for none"
    )
    keep_best: _Bool = Field(
        False, description="also keep the weights of the best validation epoch (RUN/best) and report their test metrics"
    )

    def search_options(self) -> dict[str, int | float]:
        """The sign search's options, defaults filled in (keys without the ``search_`` prefix)."""
        return {
            name.removeprefix("search_"): default if getattr(self, name) is None else getattr(self, name)
            for name, default in SEARCH_DEFAULTS.items()
        }

    @model_validator(mode="after")
    def _check_sign_options(self) -> "TrainConfig":
        # sign_lr = 0 is how older configs froze the signs; it still says the same with "frozen".
        if self.sign_optimizer != "adam" and self.sign_lr is not None and not (
            self.sign_optimizer == "frozen" and self.sign_lr == 0
        ):
            raise ValueError(
                f"train.sign_lr applies only to sign_optimizer='adam', got sign_lr={self.sign_lr!r} "
                f"with sign_optimizer={self.sign_optimizer!r}"
            )
        if self.sign_optimizer != "bop" and self.max_flips is not None:
            raise ValueError(
                f"train.max_flips applies only to sign_optimizer='bop', got max_flips={self.max_flips!r} "
                f"with sign_optimizer={self.sign_optimizer!r}"
            )
        search_options = sorted(name for name in SEARCH_DEFAULTS if getattr(self, name) is not None)
        if self.sign_optimizer != "search" and search_options:
            raise ValueError(
                f"train.{search_options[0]} applies only to sign_optimizer='search', got it "
                f"with sign_optimizer={self.sign_optimizer!r}"
            )
        return self


#: A run name becomes a folder name under --runs: no separator, no "..", no leading dot or dash.
RUN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class RunConfig(_Strict):
    name: Annotated[str, Strict()] = Field(
        "run",
        min_length=1,
        max_length=100,
        pattern=RUN_NAME_PATTERN,
        description="prefix of the run directory: letters, digits, '.', '_' and '-', starting with a letter or digit",
    )
    task: TaskConfig = CopyTaskConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()

    @field_validator("task", mode="before")
    @classmethod
    def _task_name_defaults_to_copy(cls, data: Any) -> Any:
        # Configs written before there were several tasks have a [task] table without a name.
        if isinstance(data, dict) and "name" not in data:
            return {"name": "copy", **data}
        return data


def _untagged(location: tuple) -> tuple[tuple, str]:
    """The location without the union tag pydantic inserts (``task.<name>.key``), and the task name."""
    if len(location) > 1 and location[0] == "task" and location[1] in TASK_CONFIGS:
        return ("task", *location[2:]), location[1]
    return location, "copy"


def _fields_of(location: tuple, task_name: str = "copy") -> list[str]:
    schema: type[BaseModel] = RunConfig
    for key in location:
        if schema is RunConfig and key == "task":
            schema = TASK_CONFIGS[task_name]
            continue
        annotation = schema.model_fields[key].annotation if key in schema.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        schema = annotation
    return sorted(schema.model_fields)


#: What a strict field expects, for the messages of pydantic's type errors.
_STRICT_TYPES = {
    "int_type": "an integer (not a boolean, a float or a string)",
    "bool_type": "true or false",
    "float_type": "a number (not a boolean or a string)",
    "finite_number": "a finite number (not inf or nan)",
    "string_type": "a string",
}


def _describe(error: ValidationError, source: str) -> ConfigError:
    lines = []
    for item in error.errors():
        location, task_name = _untagged(tuple(item["loc"]))
        key = ".".join(str(part) for part in location)
        if item["type"] == "extra_forbidden":
            valid = ", ".join(_fields_of(location[:-1], task_name))
            lines.append(f"unknown key {key!r}; valid keys here are: {valid}")
        elif item["type"] == "union_tag_invalid":
            known = ", ".join(sorted(TASK_CONFIGS))
            lines.append(f"{key}.name: unknown task {item['ctx']['tag']!r}; known tasks: {known}")
        elif item["type"] == "value_error":  # the library's checks: their messages name the value and the rule
            lines.append(f"{key}: {item['msg'].removeprefix('Value error, ')}")
        elif item["type"] in _STRICT_TYPES:
            lines.append(f"{key}: expected {_STRICT_TYPES[item['type']]}, got {item.get('input')!r}")
        elif item["type"] == "string_pattern_mismatch" and location == ("name",):
            lines.append(
                f"name: expected a folder name (letters, digits, '.', '_' and '-', starting with a letter or "
                f"digit; it names the run directory under --runs), got {item.get('input')!r}"
            )
        else:
            lines.append(f"{key}: {item['msg']}, got {item.get('input')!r}")
    if len(lines) == 1:  # one problem, one line (what the command line prints)
        return ConfigError(f"invalid config {source}: {lines[0]}")
    return ConfigError(f"invalid config {source}:\n  " + "\n  ".join(lines))


def parse_config(data: dict[str, Any], source: str = "<dict>") -> RunConfig:
    """Validate a config mapping; raises :class:`ConfigError` naming every bad key."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as error:
        raise _describe(error, source) from None


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a TOML config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: expected a TOML file at {str(path)!r}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {error}") from None
    return parse_config(data, repr(str(path)))


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word is a string


def apply_overrides(config: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply ``section.key=value`` overrides (values in TOML syntax) and re-validate."""
    data = config.model_dump()
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"an override must look like section.key=value, got {override!r}")
        *sections, leaf = key.strip().split(".")
        target = data
        for section in sections:
            if not isinstance(target.get(section), dict):
                raise ConfigError(f"unknown section {section!r} in override {override!r}; valid: {_fields_of(())}")
            target = target[section]
        target[leaf] = _parse_value(text.strip())
    return parse_config(data, "after --set overrides")
