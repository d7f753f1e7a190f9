import math

import pytest
import torch
from torch import nn

from hadamrnn import (
    BinaryHadamard,
    BlockHadamard,
    BlockSizeError,
    HiddenSizeError,
    ShapeError,
    binary_hadamard_,
    block_hadamard_,
)

from helpers import assert_orthogonal, sylvester_by_recursion


def random_signs(n: int, dtype=torch.float32) -> torch.Tensor:
    return (2 * torch.randint(0, 2, (n,)) - 1).to(dtype)


class TestOrthogonality:
    @pytest.mark.parametrize("n", [1, 2, 4, 16, 128, 512])
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_binary_is_orthogonal_and_scaled_hadamard(self, n, dtype):
        p = BinaryHadamard(n)
        u = random_signs(n, dtype)
        w = p(u * torch.rand(n, dtype=dtype))  # any positive magnitude: only signs matter
        assert_orthogonal(w)
        scaled = torch.round(w * math.sqrt(n))
        torch.testing.assert_close(w * math.sqrt(n), scaled, rtol=0, atol=10 * n * torch.finfo(dtype).eps)
        assert torch.equal(scaled.to(torch.int64), u.to(torch.int64)[:, None] * sylvester_by_recursion(n))

    @pytest.mark.parametrize("n,m", [(8, 2), (16, 4), (64, 8), (128, 32)])
    def test_block_is_orthogonal_ternary(self, n, m):
        p = BlockHadamard(n, m)
        u = random_signs(n, torch.float64)
        w = p(u)
        assert_orthogonal(w)
        dense = torch.block_diag(*[sylvester_by_recursion(m)] * (n // m)).to(torch.float64)
        assert torch.equal(w, u[:, None] * dense * (1 / math.sqrt(m)))
        assert torch.equal((w != 0).sum(dim=1), torch.full((n,), m))
        assert torch.equal((w != 0).sum(dim=0), torch.full((n,), m))

    def test_sample_is_in_manifold(self):
        for p in (BinaryHadamard(32), BlockHadamard(32, 8)):
            assert p.in_manifold(p.sample(torch.Generator().manual_seed(0)))


class TestSignedInverse:
    @pytest.mark.parametrize("parametrization", [BinaryHadamard(64), BlockHadamard(64, 16), BlockHadamard(8, 1)])
    def test_round_trip_is_exact(self, parametrization):
        w = parametrization.sample()
        latent = parametrization.right_inverse(w)
        assert torch.equal(parametrization(latent), w)
        assert set(latent.unique().tolist()) <= {-1.0, 1.0}

    def test_right_inverse_is_projection(self):
        p = BinaryHadamard(16)
        w = p.sample()
        noisy = w + 0.01 * torch.randn(16, 16)
        assert torch.equal(p(p.right_inverse(noisy)), w)

    def test_in_manifold_rejects(self):
        p = BlockHadamard(16, 4)
        w = p.sample()
        assert p.in_manifold(w)
        assert not p.in_manifold(BinaryHadamard(16).sample())  # wrong zero pattern
        assert not p.in_manifold(w * 1.01)
        assert not p.in_manifold(w[:8, :8])
        bad = w.clone()
        bad[0, 0] = -bad[0, 0]  # breaks orthogonality but keeps the pattern
        assert not p.in_manifold(bad)

    def test_shape_errors(self):
        p = BinaryHadamard(8)
        with pytest.raises(ShapeError, match=r"\(8,\), got \(4,\)"):
            p(torch.ones(4))
        with pytest.raises(ShapeError, match=r"\(8, 8\), got \(8, 4\)"):
            p.right_inverse(torch.ones(8, 4))


class TestRegistrar:
    def test_binary_registrar(self):
        layer = binary_hadamard_(nn.Linear(16, 16, bias=False))
        assert layer.parametrizations.weight.original.shape == (16,)
        assert_orthogonal(layer.weight.detach())

    def test_block_registrar(self):
        layer = block_hadamard_(nn.Linear(16, 16), block_size=4)
        assert layer.parametrizations.weight[0].block_size == 4
        assert (layer.weight != 0).sum() == 16 * 4

    def test_registrar_errors(self):
        with pytest.raises(ShapeError, match=r"square matrix, got shape \(8, 16\)"):
            binary_hadamard_(nn.Linear(16, 8))
        with pytest.raises(HiddenSizeError, match="got 100"):
            binary_hadamard_(nn.Linear(100, 100))
        with pytest.raises(BlockSizeError, match="got 3"):
            block_hadamard_(nn.Linear(16, 16), block_size=3)
        with pytest.raises(ValueError, match="no tensor attribute 'kernel'"):
            binary_hadamard_(nn.Linear(4, 4), "kernel")

    def test_stays_on_set_after_adam_steps(self):
        layer = block_hadamard_(nn.Linear(32, 32, bias=False), block_size=8)
        nn.init.normal_(layer.parametrizations.weight.original, std=0.01)
        p = layer.parametrizations.weight[0]
        optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
        flips = 0
        for _ in range(50):
            before = layer.weight.detach().clone()
            loss = (layer(torch.randn(16, 32)) - torch.randn(16, 32)).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            assert p.in_manifold(layer.weight.detach())
            flips += int((layer.weight.detach() != before).any(dim=1).sum())
        assert flips > 0  # the signs did move

    def test_state_dict_holds_only_latent(self):
        layer = binary_hadamard_(nn.Linear(8, 8, bias=False))
        assert list(layer.state_dict()) == ["parametrizations.weight.original"]


class TestStraightThroughGradient:
    def test_latent_gradient_is_weight_gradient_mapped(self):
        n = 16
        p = BinaryHadamard(n).double()
        latent = torch.randn(n, dtype=torch.float64, requires_grad=True)
        upstream = torch.randn(n, n, dtype=torch.float64)
        (p(latent) * upstream).sum().backward()
        pattern = sylvester_by_recursion(n).to(torch.float64) / math.sqrt(n)
        torch.testing.assert_close(latent.grad, (upstream * pattern).sum(dim=1), rtol=0, atol=1e-12)
