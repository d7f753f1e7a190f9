import math

import pytest
import torch
from torch import nn

from hadamrnn import native
from hadamrnn import BitsError, BlockSizeError, HadamRNN, HadamRNNError, HiddenSizeError, QuantizedLinear, ShapeError, uniform_quantize

from helpers import assert_orthogonal, sylvester_by_recursion


def dense_loop(rnn: HadamRNN, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """The plain loop: W materialised, ``h = h @ W.T + x @ U.T + b``."""
    weight = rnn.weight_hh.detach()
    u = uniform_quantize(rnn.input_proj.weight.detach(), rnn.input_bits) if rnn.input_bits else rnn.input_proj.weight.detach()
    b = rnn.input_proj.bias.detach()
    h = torch.zeros(x.shape[0], rnn.hidden_size, dtype=x.dtype) if h0 is None else h0
    outputs = []
    for t in range(x.shape[1]):
        h = h @ weight.T + x[:, t] @ u.T + b
        if rnn.recurrence == "relu":
            h = torch.relu(h)
        outputs.append(h)
    return torch.stack(outputs, 1)


class TestQuantizedLinear:
    def test_forward_uses_quantized_weight(self):
        layer = QuantizedLinear(5, 3, bits=2)
        x = torch.randn(4, 5)
        expected = x @ uniform_quantize(layer.weight, 2).T + layer.bias
        assert torch.equal(layer(x), expected)

    def test_float_weight(self):
        layer = QuantizedLinear(5, 3, bits=None, bias=False)
        x = torch.randn(4, 5)
        assert torch.equal(layer(x), x @ layer.weight.T)

    def test_xavier_init_range(self):
        layer = QuantizedLinear(100, 50)
        assert float(layer.weight.detach().abs().max()) <= math.sqrt(6 / 150)

    @pytest.mark.parametrize("bits", [0, 17])
    def test_bad_bits(self, bits):
        with pytest.raises(BitsError, match=f"got {bits}"):
            QuantizedLinear(3, 3, bits=bits)


class TestHadamRNN:
    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    @pytest.mark.parametrize("block_size", [None, 4, 1])
    @pytest.mark.parametrize("backend", ["reference", "dense"])
    def test_matches_dense_loop(self, recurrence, block_size, backend):
        torch.manual_seed(0)
        rnn = HadamRNN(3, 16, block_size=block_size, recurrence=recurrence, backend=backend)
        x = torch.randn(4, 30, 3)
        h0 = torch.randn(1, 4, 16)
        outputs, h_n = rnn(x, h0)
        expected = dense_loop(rnn, x, h0[0])
        torch.testing.assert_close(outputs, expected, rtol=1e-5, atol=1e-5)
        assert torch.equal(h_n[0], outputs[:, -1])

    def test_weight_hh_is_current_w(self):
        rnn = HadamRNN(2, 32, block_size=8)
        u = torch.where(rnn.latent_signs.detach() >= 0, 1, -1)
        dense = torch.block_diag(*[sylvester_by_recursion(8)] * 4)
        assert torch.equal(torch.round(rnn.weight_hh.detach() * math.sqrt(8)).to(torch.int64), u[:, None] * dense)
        assert_orthogonal(rnn.weight_hh.detach())

    def test_gradients_match_dense_backend(self):
        torch.manual_seed(1)
        a = HadamRNN(3, 16, block_size=8, backend="reference").double()
        b = HadamRNN(3, 16, block_size=8, backend="dense").double()
        b.load_state_dict(a.state_dict())
        x = torch.randn(2, 12, 3, dtype=torch.float64)
        for rnn in (a, b):
            rnn(x)[0].pow(2).sum().backward()
        for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
            torch.testing.assert_close(pa.grad, pb.grad, rtol=1e-9, atol=1e-9, msg=name)

    def test_gradcheck_reference(self):
        rnn = HadamRNN(2, 8, input_bits=None).double()
        x = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
        h0 = torch.randn(1, 2, 8, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda x, h: rnn(x, h)[0], (x, h0))

    def test_time_major_and_unbatched(self):
        rnn = HadamRNN(3, 8, batch_first=False)
        x = torch.randn(6, 2, 3)
        outputs, h_n = rnn(x)
        assert outputs.shape == (6, 2, 8) and h_n.shape == (1, 2, 8)
        batch_first = HadamRNN(3, 8)
        batch_first.load_state_dict(rnn.state_dict())
        torch.testing.assert_close(batch_first(x.transpose(0, 1))[0], outputs.transpose(0, 1))
        single, h_single = batch_first(x[:, 0])
        assert single.shape == (6, 8) and h_single.shape == (1, 8)
        torch.testing.assert_close(single, outputs[:, 0])

    @pytest.mark.parametrize("backend", ["reference", "dense", "native"])
    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    def test_last_state_and_readout_match_forward(self, backend, recurrence):
        """The many-to-one and many-to-many entry points compute what forward's outputs give, with
        the same gradients, on every backend (native: the kernels' own outputs)."""
        if backend == "native" and not native.is_available():
            pytest.skip(f"native extension not built: {native.unavailable_reason()}")
        torch.manual_seed(0)
        rnn = HadamRNN(3, 16, block_size=4, recurrence=recurrence, backend=backend).double()
        readout = torch.randn(5, 16, dtype=torch.float64, requires_grad=True)
        bias = torch.randn(5, dtype=torch.float64, requires_grad=True)
        x = torch.randn(4, 9, 3, dtype=torch.float64)
        h0 = torch.randn(1, 4, 16, dtype=torch.float64)
        outputs, h_n = rnn(x, h0)
        expected = {"last": h_n[0], "logits": nn.functional.linear(torch.relu(outputs), readout, bias)}
        actual = {"last": rnn.last_state(x, h0), "logits": rnn.readout(x, readout, bias, h0)}
        parameters = [*rnn.parameters(), readout, bias]
        for key in expected:
            torch.testing.assert_close(actual[key], expected[key], rtol=1e-12, atol=1e-12)
            upstream = torch.randn_like(expected[key])
            wanted = torch.autograd.grad(expected[key], parameters, upstream, retain_graph=True, allow_unused=True)
            got = torch.autograd.grad(actual[key], parameters, upstream, retain_graph=True, allow_unused=True)
            for a, b in zip(got, wanted):
                assert (a is None) == (b is None)
                if a is not None:
                    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)

    def test_last_state_and_readout_layouts(self):
        rnn = HadamRNN(3, 8, batch_first=False)
        x = torch.randn(6, 2, 3)
        weight = torch.randn(4, 8)
        outputs, h_n = rnn(x)
        torch.testing.assert_close(rnn.last_state(x), h_n[0])
        torch.testing.assert_close(rnn.readout(x, weight), nn.functional.linear(torch.relu(outputs), weight))
        torch.testing.assert_close(rnn.last_state(x[:, 0]), h_n[0, 0])
        assert rnn.readout(x[:, 0], weight).shape == (6, 4)
        assert torch.equal(rnn.last_state(torch.randn(0, 2, 3)), torch.zeros(2, 8))  # T = 0: h_T = h_0
        with pytest.raises(ShapeError, match=r"read-out weight must have shape \(k, n=8\), got \(4, 7\)"):
            rnn.readout(x, torch.randn(4, 7))

    def test_bias_initialisation_follows_torch_rnn(self):
        """b ~ U(±1/√n) like torch.nn.RNN, whatever the input width (nn.Linear would use ±1/√d)."""
        torch.manual_seed(0)
        rnn = HadamRNN(1, 256)
        bias = rnn.input_proj.bias.detach()
        assert bias.abs().max() <= 1 / 16
        assert bias.abs().max() > 0.9 / 16  # spread over the whole range, not clustered at 0
        reference = nn.RNN(1, 256)
        assert reference.bias_ih_l0.abs().max() <= 1 / 16

    def test_zero_length_sequence(self):
        rnn = HadamRNN(3, 8)
        outputs, h_n = rnn(torch.randn(2, 0, 3))
        assert outputs.shape == (2, 0, 8) and torch.equal(h_n, torch.zeros(1, 2, 8))

    def test_norm_is_preserved_without_input(self):
        rnn = HadamRNN(1, 64, bias=False).double()
        h0 = torch.randn(1, 3, 64, dtype=torch.float64)
        outputs, _ = rnn(torch.zeros(3, 200, 1, dtype=torch.float64), h0)
        torch.testing.assert_close(outputs.norm(dim=-1), h0[0].norm(dim=-1)[:, None].expand(3, 200), rtol=1e-12, atol=0)

    def test_state_dict_and_repr(self):
        rnn = HadamRNN(3, 16, block_size=4, input_bits=8)
        assert set(rnn.state_dict()) == {"input_proj.weight", "input_proj.bias", "parametrizations.weight_hh.original"}
        assert "block_size=4" in repr(rnn) and "input_bits=8" in repr(rnn)


class TestEdgeCases:
    def test_bad_hidden_size(self):
        with pytest.raises(HiddenSizeError, match="supported Hadamard order.*got 100; the nearest supported sizes are 96 and 104"):
            HadamRNN(3, 100)

    @pytest.mark.parametrize("block_size", [3, 32, 6])
    def test_bad_block_size(self, block_size):
        with pytest.raises(BlockSizeError, match=f"dividing hidden_size=16.*got {block_size}"):
            HadamRNN(3, 16, block_size=block_size)

    def test_bad_recurrence(self):
        with pytest.raises(HadamRNNError, match="recurrence must be one of .*got 'tanh'"):
            HadamRNN(3, 16, recurrence="tanh")

    def test_bad_backend(self):
        with pytest.raises(HadamRNNError, match="backend must be one of .*got 'cuda'"):
            HadamRNN(3, 16, backend="cuda")

    def test_wrong_rank(self):
        rnn = HadamRNN(3, 8)
        with pytest.raises(ShapeError, match=r"\(B, T, input_size\).*got a 4-d tensor"):
            rnn(torch.randn(2, 3, 4, 3))

    def test_wrong_feature_size(self):
        with pytest.raises(ShapeError, match="input_size=3 .*got 5"):
            HadamRNN(3, 8)(torch.randn(2, 4, 5))

    def test_integer_input(self):
        with pytest.raises(ShapeError, match="floating-point.*got dtype torch.int64"):
            HadamRNN(3, 8)(torch.ones(2, 4, 3, dtype=torch.int64))

    def test_wrong_h0(self):
        with pytest.raises(ShapeError, match=r"h0 must have shape \(1, 2, 8\), got \(2, 8\)"):
            HadamRNN(3, 8)(torch.randn(2, 4, 3), torch.zeros(2, 8))

    def test_not_a_tensor(self):
        with pytest.raises(ShapeError, match="got list"):
            HadamRNN(3, 8)([[1.0, 2.0, 3.0]])

    def test_module_to_double(self):
        rnn = HadamRNN(3, 8).double()
        outputs, _ = rnn(torch.randn(2, 4, 3, dtype=torch.float64))
        assert outputs.dtype == torch.float64
        assert isinstance(rnn.latent_signs, nn.Parameter)
