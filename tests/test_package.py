import subprocess
import sys

import hadamrnn


def test_every_public_name_resolves():
    for name in hadamrnn.__all__:
        assert getattr(hadamrnn, name) is not None, name
    assert set(hadamrnn.__all__) - {"__version__"} == set(hadamrnn._SOURCE)


def test_unknown_attribute():
    try:
        hadamrnn.no_such_thing
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_numpy_only_modules_do_not_import_torch():
    code = "import sys, hadamrnn, hadamrnn.packing; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_has_one_source():
    from importlib.metadata import version

    assert version("hadamrnn") == hadamrnn.__version__
