"""Invariants of the core library: orthogonality, binarity, sparsity, the quantizers and the STE."""

import math

import torch
from hypothesis import assume, given, note
from hypothesis import strategies as st

from hadamrnn import BinaryHadamard, BlockHadamard, HadamRNN, block_hadamard_, quantize_to_int, ste_sign, sylvester, uniform_quantize
from strategies import bits_st, power_of_two_st, seed_st, sizes_and_block_st


def signs_for(n: int, seed: int, dtype=torch.float32) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (2 * torch.randint(0, 2, (n,), generator=generator) - 1).to(dtype)


@given(n=power_of_two_st(0, 9), seed=seed_st(), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_binary_w_is_scaled_hadamard_and_orthogonal(n, seed, dtype):
    u = signs_for(n, seed, dtype)
    w = BinaryHadamard(n)(u)
    scaled = w * math.sqrt(n)
    integer = torch.round(scaled)
    tol = 10 * n * torch.finfo(dtype).eps
    assert bool(((integer == 1) | (integer == -1)).all())
    assert float((scaled - integer).abs().max()) <= tol
    assert torch.equal(integer.to(torch.int64), u.to(torch.int64)[:, None] * sylvester(n))
    eye = torch.eye(n, dtype=dtype)
    assert float((w.T @ w - eye).abs().max()) <= tol


@given(sizes=sizes_and_block_st(9), seed=seed_st())
def test_block_w_has_exact_zero_pattern(sizes, seed):
    n, m = sizes
    w = BlockHadamard(n, m)(signs_for(n, seed))
    pattern = torch.kron(torch.eye(n // m), torch.ones(m, m)) != 0
    assert torch.equal(w != 0, pattern)
    assert torch.equal((w != 0).sum(dim=0), torch.full((n,), m))
    assert torch.equal((w != 0).sum(dim=1), torch.full((n,), m))
    assert float((w.T @ w - torch.eye(n)).abs().max()) <= 10 * n * torch.finfo(torch.float32).eps


@given(values=st.lists(st.one_of(st.just(0.0), st.just(-0.0), st.floats(-1e30, 1e30, allow_nan=False)), min_size=1, max_size=200))
def test_ste_sign_never_returns_zero(values):
    out = ste_sign(torch.tensor(values))
    assert bool(((out == 1) | (out == -1)).all())
    zeros = torch.tensor(values) == 0
    assert bool((out[zeros] == 1).all())


@given(sizes=sizes_and_block_st(8), seed=seed_st())
def test_right_inverse_round_trip_is_exact(sizes, seed):
    n, m = sizes
    parametrization = BlockHadamard(n, m)
    w = parametrization(signs_for(n, seed))
    assert torch.equal(parametrization(parametrization.right_inverse(w)), w)


weights_st = st.lists(st.floats(-100, 100, allow_nan=False, width=32), min_size=1, max_size=300).map(
    lambda values: torch.tensor(values, dtype=torch.float32)
)


@given(w=weights_st, bits=bits_st())
def test_uniform_quantize_levels_and_error(w, bits):
    q = uniform_quantize(w, bits)
    assert bool(q.isfinite().all()) and q.unique().numel() <= 2**bits
    alpha = float(w.abs().max()) or 1.0
    # Below this the grid step alpha/2^(bits-1) is subnormal, not representable to the precision
    # the bound needs (found at alpha = 2.0e-37, bits = 15: an error of 1.9 steps).
    assume(alpha / 2 ** (bits - 1) >= torch.finfo(torch.float32).tiny)
    error = (q - w).abs()
    top = w > alpha * (2 ** (bits - 1) - 1) / 2 ** (bits - 1)  # beyond the largest positive level
    slack = 1e-6 * alpha
    assert bool((error[~top] <= alpha / 2**bits + slack).all())
    assert bool((error[top] <= alpha / 2 ** (bits - 1) + slack).all())


@given(w=weights_st, bits=bits_st(), alpha=st.floats(0.01, 200))
def test_uniform_quantize_is_idempotent_with_fixed_alpha(w, bits, alpha):
    codes, step = quantize_to_int(w, bits, alpha=alpha)
    once = codes.to(w.dtype) * step
    codes_again, _ = quantize_to_int(once, bits, alpha=alpha)
    assert torch.equal(codes_again, codes)


@given(sizes=sizes_and_block_st(6), seed=seed_st(), lr=st.sampled_from([1e-3, 1e-2, 1e-1]))
def test_w_stays_on_its_set_after_50_adam_steps(sizes, seed, lr):
    n, m = sizes
    torch.manual_seed(seed)
    layer = block_hadamard_(torch.nn.Linear(n, n, bias=False), block_size=m)
    torch.nn.init.normal_(layer.parametrizations.weight.original, std=0.05)
    parametrization = layer.parametrizations.weight[0]
    optimizer = torch.optim.Adam(layer.parameters(), lr=lr)
    x, target = torch.randn(8, n), torch.randn(8, n)
    for _ in range(50):
        loss = (layer(x) - target).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert parametrization.in_manifold(layer.weight.detach())


@given(n=power_of_two_st(1, 9), seed=seed_st())
def test_linear_recurrence_preserves_norm_over_10k_steps(n, seed):
    torch.manual_seed(seed)
    rnn = HadamRNN(1, n, bias=False)
    h0 = torch.randn(1, 2, n)
    steps = 10_000
    with torch.no_grad():
        _, h = rnn(torch.zeros(2, steps, 1), h0)
    drift = float(((h.norm(dim=-1) - h0.norm(dim=-1)) / h0.norm(dim=-1)).abs().max())
    note(f"relative norm drift after {steps} float32 steps at n={n}: {drift:.3e}")
    assert drift < 1e-3


@given(sizes=sizes_and_block_st(7), seed=seed_st())
def test_ste_gradient_of_latent_is_weight_gradient_mapped(sizes, seed):
    n, m = sizes
    generator = torch.Generator().manual_seed(seed)
    parametrization = BlockHadamard(n, m).double()
    latent = torch.randn(n, generator=generator, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(n, n, generator=generator, dtype=torch.float64)
    (parametrization(latent) * upstream).sum().backward()
    pattern = torch.kron(torch.eye(n // m, dtype=torch.float64), sylvester(m).double()) / math.sqrt(m)
    expected = (upstream * pattern).sum(dim=1)  # dW_ij/du_i = P_ij, and the STE passes it to the latent
    torch.testing.assert_close(latent.grad, expected, rtol=0, atol=1e-12)
