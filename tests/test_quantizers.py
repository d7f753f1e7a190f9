import pytest
import torch

from hadamrnn import BitsError, SignQuantizer, UniformQuantizer, flip_ratio, quantize_to_int, ste_sign, uniform_quantize


def spec_quantize(w: torch.Tensor, p: int) -> torch.Tensor:
    """The spec's formula written out element by element, in float64."""
    alpha = max(abs(float(v)) for v in w.flatten()) or 1.0
    out = []
    for v in w.flatten().tolist():
        code = min(max(round(v * 2 ** (p - 1) / alpha), -(2 ** (p - 1))), 2 ** (p - 1) - 1)
        out.append(alpha / 2 ** (p - 1) * code)
    return torch.tensor(out, dtype=torch.float64).reshape(w.shape)


class TestSteSign:
    def test_zero_maps_to_plus_one(self):
        x = torch.tensor([0.0, -0.0, 1e-30, -1e-30, 5.0, -5.0])
        assert torch.equal(ste_sign(x), torch.tensor([1.0, 1.0, 1.0, -1.0, 1.0, -1.0]))

    def test_only_plus_minus_one(self):
        x = torch.randn(1000)
        x[::7] = 0.0
        out = ste_sign(x)
        assert set(out.unique().tolist()) <= {-1.0, 1.0}

    def test_identity_gradient(self):
        x = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0], requires_grad=True)
        g = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
        ste_sign(x).backward(g)
        assert torch.equal(x.grad, g)

    def test_clipped_gradient(self):
        x = torch.tensor([-3.0, -1.0, 0.0, 0.5, 3.0], requires_grad=True)
        ste_sign(x, clip=1.0).backward(torch.ones(5))
        assert torch.equal(x.grad, torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0]))

    def test_idempotent(self):
        x = torch.randn(50)
        assert torch.equal(ste_sign(ste_sign(x)), ste_sign(x))

    def test_module(self):
        q = SignQuantizer(clip=2.0)
        assert q.bits == 1 and "clip=2.0" in repr(q)
        with pytest.raises(ValueError, match="got -1"):
            SignQuantizer(clip=-1)


class TestUniformQuantize:
    @pytest.mark.parametrize("bits", [1, 2, 3, 4, 8, 16])
    def test_matches_spec_formula(self, bits):
        w = torch.randn(40, dtype=torch.float64)
        w[3] = 0.0
        torch.testing.assert_close(uniform_quantize(w, bits), spec_quantize(w, bits), rtol=0, atol=1e-15)

    def test_hand_example(self):
        # alpha = 2, p = 3: step 0.5, codes in [-4, 3].
        w = torch.tensor([-2.0, -0.74, 0.26, 1.6, 2.0])
        assert torch.equal(uniform_quantize(w, 3), torch.tensor([-2.0, -0.5, 0.5, 1.5, 1.5]))

    def test_all_zero_weight(self):
        assert torch.equal(uniform_quantize(torch.zeros(5), 4), torch.zeros(5))

    @pytest.mark.parametrize("bits", [1, 2, 4, 6])
    def test_number_of_levels(self, bits):
        w = torch.randn(5000)
        assert uniform_quantize(w, bits).unique().numel() <= 2**bits

    @pytest.mark.parametrize("bits", [2, 4, 8])
    def test_idempotent_when_extremum_is_representable(self, bits):
        w = torch.randn(100)
        w[0] = -w.abs().max() * 1.5  # max |w| is the negative extremum, which is a level
        once = uniform_quantize(w, bits)
        assert torch.equal(uniform_quantize(once, bits), once)

    def test_codes_and_scale(self):
        w = torch.randn(30)
        codes, step = quantize_to_int(w, 4)
        assert codes.dtype == torch.int32
        assert int(codes.min()) >= -8 and int(codes.max()) <= 7
        assert torch.equal(codes.to(torch.float32) * step, uniform_quantize(w, 4))

    def test_identity_ste_and_clip(self):
        w = torch.tensor([-2.0, 0.3, 1.0], requires_grad=True)
        uniform_quantize(w, 4).backward(torch.tensor([1.0, 2.0, 3.0]))
        assert torch.equal(w.grad, torch.tensor([1.0, 2.0, 3.0]))
        v = torch.tensor([-2.0, 0.3, 1.0], requires_grad=True)
        uniform_quantize(v, 4, clip=1.0).backward(torch.ones(3))
        assert torch.equal(v.grad, torch.tensor([0.0, 1.0, 1.0]))

    @pytest.mark.parametrize("bits", [0, 17, -1, 2.5, True, "4"])
    def test_bad_bits(self, bits):
        with pytest.raises(BitsError, match="1..16"):
            uniform_quantize(torch.randn(3), bits)
        with pytest.raises(BitsError):
            UniformQuantizer(bits)


def test_flip_ratio():
    a = torch.tensor([1.0, -1.0, 1.0, 1.0])
    b = torch.tensor([1.0, 1.0, -1.0, 1.0])
    assert flip_ratio(a, b) == 0.5
    assert flip_ratio(a, a) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        flip_ratio(a, b[:3])
