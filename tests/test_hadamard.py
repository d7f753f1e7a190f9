import pytest
import torch

from hadamrnn import BlockSizeError, HiddenSizeError, ShapeError, block_sylvester, fwht, is_hadamard, sylvester

from helpers import sylvester_by_recursion


class TestSylvester:
    @pytest.mark.parametrize("n", [1, 2, 4, 8, 16, 64, 256])
    def test_equals_recursive_construction(self, n):
        assert torch.equal(sylvester(n), sylvester_by_recursion(n))

    @pytest.mark.parametrize("n", [1, 2, 4, 32, 128])
    def test_is_hadamard_and_symmetric(self, n):
        s = sylvester(n)
        assert is_hadamard(s)
        assert torch.equal(s, s.T)
        assert torch.equal(s @ s, n * torch.eye(n, dtype=torch.int64))

    def test_dtype(self):
        assert sylvester(4, dtype=torch.float64).dtype == torch.float64

    @pytest.mark.parametrize("n", [0, 3, 6, 12, 96, -4])
    def test_rejects_non_power_of_two(self, n):
        with pytest.raises(HiddenSizeError, match=f"got {n}"):
            sylvester(n)


class TestBlockSylvester:
    @pytest.mark.parametrize("n,m", [(8, 1), (8, 2), (8, 4), (8, 8), (64, 16)])
    def test_block_structure(self, n, m):
        b = block_sylvester(n, m)
        expected = torch.block_diag(*[sylvester_by_recursion(m)] * (n // m))
        assert torch.equal(b, expected)
        assert torch.equal((b != 0).sum(dim=0), torch.full((n,), m))
        assert torch.equal(b @ b.T, m * torch.eye(n, dtype=torch.int64))

    @pytest.mark.parametrize("m", [3, 16, 0, 6])
    def test_rejects_bad_block_size(self, m):
        with pytest.raises(BlockSizeError, match=f"got {m}"):
            block_sylvester(8, m)


class TestIsHadamard:
    def test_rejects_non_hadamard(self):
        assert not is_hadamard(torch.ones(2, 2))
        assert not is_hadamard(torch.tensor([[1, 1], [1, 0]]))
        assert not is_hadamard(torch.ones(2, 3))
        assert not is_hadamard(torch.tensor([[1.0, 1.0], [1.0, -1.0000001]], dtype=torch.float64))

    def test_accepts_equivalent_matrix(self):
        s = sylvester(8)
        permuted = -s[torch.randperm(8)][:, torch.randperm(8)]
        assert is_hadamard(permuted)
        assert is_hadamard(permuted.to(torch.float32))


class TestFWHT:
    @pytest.mark.parametrize("n", [1, 2, 4, 8, 32, 128, 512, 2048])
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_matches_dense(self, n, dtype):
        x = torch.randn(3, 5, n, dtype=dtype)
        expected = x @ sylvester_by_recursion(n).to(dtype)
        tol = 10 * n * torch.finfo(dtype).eps * float(x.abs().max())
        torch.testing.assert_close(fwht(x), expected, rtol=0, atol=tol)

    @pytest.mark.parametrize("n,m", [(8, 1), (8, 2), (16, 4), (64, 8), (256, 128)])
    def test_block_matches_dense(self, n, m):
        x = torch.randn(4, n, dtype=torch.float64)
        dense = torch.block_diag(*[sylvester_by_recursion(m)] * (n // m)).to(torch.float64)
        torch.testing.assert_close(fwht(x, block_size=m), x @ dense, rtol=0, atol=1e-12)

    def test_exact_on_integers(self):
        x = torch.randint(-100, 100, (7, 64)).to(torch.float32)
        assert torch.equal(fwht(x), (x.to(torch.int64) @ sylvester(64)).to(torch.float32))

    def test_involution(self):
        x = torch.randn(10, 256, dtype=torch.float64)
        torch.testing.assert_close(fwht(fwht(x)), 256 * x, rtol=1e-12, atol=1e-10)

    def test_gradient_is_same_transform(self):
        x = torch.randn(2, 16, dtype=torch.float64, requires_grad=True)
        g = torch.randn(2, 16, dtype=torch.float64)
        (fwht(x) * g).sum().backward()
        torch.testing.assert_close(x.grad, fwht(g), rtol=0, atol=1e-12)
        assert torch.autograd.gradcheck(lambda t: fwht(t, block_size=4), (torch.randn(3, 16, dtype=torch.float64, requires_grad=True),))

    def test_errors(self):
        with pytest.raises(HiddenSizeError, match="got 100; the nearest supported sizes are 96 and 104"):
            fwht(torch.randn(2, 100))
        with pytest.raises(BlockSizeError, match="got 3"):
            fwht(torch.randn(2, 8), block_size=3)
        with pytest.raises(ShapeError, match="floating-point"):
            fwht(torch.ones(2, 8, dtype=torch.int64))
        with pytest.raises(ShapeError, match="0-d"):
            fwht(torch.tensor(1.0))
