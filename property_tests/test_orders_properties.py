"""Invariants of the hidden sizes ``n = r · 2^k`` (``r`` and ``k`` drawn): exact transforms, exact
orthogonality, the fixed-point ``1/sqrt(m)``, and the nearest supported sizes of the messages."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hadamrnn import BlockHadamard, HiddenSizeError, core, hadamard, native
from hadamrnn.functional import hadamard_recurrence_reference
from strategies import order_and_block_st, seed_st, supported_order_st


def integers(n: int, seed: int, bound: int = 2**15, rows: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(-bound, bound, (rows, n))


@given(sizes=order_and_block_st(), seed=seed_st())
def test_integer_transform_is_the_dense_product(sizes, seed):
    n, m = sizes
    x = integers(n, seed)
    dense = core.block_hadamard(n, m)
    assert np.array_equal(core.fwht_int(x, m), x @ dense.T)
    assert np.array_equal(core.fwht_int(x, m, transpose=True), x @ dense)


@given(sizes=order_and_block_st(), seed=seed_st())
def test_float_transform_is_exact_on_integers(sizes, seed):
    n, m = sizes
    x = integers(n, seed, bound=1000)
    y = hadamard.fwht(torch.from_numpy(x).double(), m)
    assert np.array_equal(y.numpy(), (x @ core.block_hadamard(n, m).T).astype(np.float64))


@pytest.mark.skipif(not native.is_available(), reason="needs the C extension")
@given(sizes=order_and_block_st(), seed=seed_st(), transpose=st.booleans())
def test_native_transform_is_exact_on_integers(sizes, seed, transpose):
    n, m = sizes
    x = integers(n, seed, bound=100)  # |y| <= 100 m < 2^24: exact in float32
    dense = core.block_hadamard(n, m)
    y = native.fwht_native(torch.from_numpy(x).float(), None, 1.0, m, transpose=transpose)
    assert np.array_equal(y.numpy(), (x @ (dense if transpose else dense.T)).astype(np.float32))


@given(sizes=order_and_block_st(4), seed=seed_st(), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_w_is_scaled_integer_and_orthogonal(sizes, seed, dtype):
    n, m = sizes
    generator = torch.Generator().manual_seed(seed)
    signs = (2 * torch.randint(0, 2, (n,), generator=generator) - 1).to(dtype)
    w = BlockHadamard(n, m)(signs)
    integer = torch.sign(w).to(torch.int64)  # sqrt(m) W, entries in {-1, 0, 1}
    assert torch.equal(integer, signs.to(torch.int64)[:, None] * torch.from_numpy(core.block_hadamard(n, m)))
    assert torch.equal(w, integer.to(dtype) * torch.tensor(core.hadamard_scale(m), dtype=dtype))
    tolerance = 10 * n * torch.finfo(dtype).eps
    assert float((w.T @ w - torch.eye(n, dtype=dtype)).abs().max()) <= tolerance


@pytest.mark.skipif(not native.is_available(), reason="needs the C extension")
@given(sizes=order_and_block_st(3, 44), seed=seed_st(), recurrence=st.sampled_from(["linear", "relu"]))
def test_native_recurrence_equals_the_reference(sizes, seed, recurrence):
    n, m = sizes
    generator = torch.Generator().manual_seed(seed)
    tensors = [
        torch.randn(2, 5, 2, generator=generator, dtype=torch.float64),
        torch.randn(2, n, generator=generator, dtype=torch.float64),
        (2 * torch.randint(0, 2, (n,), generator=generator) - 1).double(),
        torch.randn(n, 2, generator=generator, dtype=torch.float64),
        torch.randn(n, generator=generator, dtype=torch.float64),
    ]
    leaves = [t.requires_grad_() for t in tensors]
    grad = torch.randn(2, 5, n, generator=generator, dtype=torch.float64)
    fast = native.hadamard_recurrence_native(*leaves, m, recurrence)
    slow = hadamard_recurrence_reference(*leaves, m, recurrence)
    atol = 1e3 * n * torch.finfo(torch.float64).eps
    torch.testing.assert_close(fast, slow, rtol=0, atol=atol)
    for got, want in zip(torch.autograd.grad(fast, leaves, grad), torch.autograd.grad(slow, leaves, grad)):
        torch.testing.assert_close(got, want, rtol=0, atol=atol * max(1.0, float(want.abs().max())))


@given(n=supported_order_st(max_exponent=12, max_base=256))
def test_fixed_point_scale_is_the_rounded_inverse_square_root(n):
    multiplier, shift = core.hadamard_scale_fixed_point(n)
    if multiplier == 1:
        assert 4**shift == n  # exact only for a power of four
    else:
        assert (2 * multiplier - 1) ** 2 * n < 4 ** (shift + 1) < (2 * multiplier + 1) ** 2 * n
        assert 1 << 30 <= multiplier < 1 << 31
    r, c = core.split_order(n)
    assert r * c == n and r in core.BASE_ORDERS and core.is_power_of_two(c)


@given(value=st.integers(-10, 5000))
def test_nearest_supported_orders_are_the_neighbours(value):
    nearest = core.nearest_supported_orders(value)
    if core.is_supported_order(value):
        assert nearest == (value,)
        return
    supported = core.available_orders(below=10_000)
    below = [v for v in supported if v < value]
    above = [v for v in supported if v > value]
    assert nearest == tuple(([below[-1]] if below else []) + [above[0]])
    with pytest.raises(HiddenSizeError) as raised:
        core.check_hidden_size(value)
    assert str(raised.value).endswith(
        f"the nearest supported sizes are {nearest[0]} and {nearest[1]}" if len(nearest) == 2
        else f"the nearest supported size is {nearest[0]}"
    )
