"""Sign learning: parameter groups, the radial projection and Bop, on hand-computed cases."""

from __future__ import annotations

import pytest
import torch

import hadamrnn
from hadamrnn.optim import Bop, sign_parameter_groups, radial_part, remove_radial_, sign_parameters


def _model():
    torch.manual_seed(0)
    return hadamrnn.SequenceClassifier(2, 8, 3, backend="reference")


class TestParameterGroups:
    def test_signs_and_rest_partition_the_parameters(self):
        model = _model()
        signs, rest = sign_parameter_groups(model, lr=1e-4)
        assert signs["lr"] == 1e-4 and "lr" not in rest
        assert [p is model.rnn.latent_signs for p in signs["params"]] == [True]
        every = {id(p) for p in model.parameters()}
        assert {id(p) for p in signs["params"]} | {id(p) for p in rest["params"]} == every
        assert not {id(p) for p in signs["params"]} & {id(p) for p in rest["params"]}

    def test_a_model_without_hadamrnn_has_no_signs(self):
        assert sign_parameters(torch.nn.Linear(3, 3)) == []


class TestRadialProjection:
    def test_hand_computed(self):
        latent = torch.tensor([0.5, -0.1, 0.2, 0.0], requires_grad=True)
        latent.grad = torch.tensor([1.0, 1.0, 3.0, -1.0])
        # u = (1, -1, 1, 1) (0 reads as +1); <g, u> = 1 - 1 + 3 - 1 = 2, radial part 2/4 = 0.5
        assert radial_part(latent.grad, latent).item() == 0.5
        assert torch.equal(remove_radial_(latent), torch.tensor([0.5, 1.5, 2.5, -1.5]))

    def test_tangential_part_is_orthogonal_to_u(self):
        torch.manual_seed(1)
        latent = torch.randn(64, dtype=torch.float64, requires_grad=True)
        latent.grad = torch.randn(64, dtype=torch.float64)
        remove_radial_(latent)
        u = torch.where(latent >= 0, 1.0, -1.0).double()
        assert abs(float(latent.grad @ u)) <= 64 * 10 * torch.finfo(torch.float64).eps

    def test_radial_part_is_the_derivative_along_a_rescaling_of_w(self):
        model = _model().double()
        x = torch.randn(4, 6, 2, dtype=torch.float64)
        latent = model.rnn.latent_signs
        loss = model(x).square().sum()
        loss.backward()
        # d/ds L(sW) at s = 1, by a central difference on a copy whose W is scaled by s
        def loss_at(s):
            weight = model.rnn.weight_hh.detach() * s
            h = torch.zeros(4, 8, dtype=torch.float64)
            u_x = model.rnn.input_proj(x)
            for t in range(6):
                h = h @ weight.T + u_x[:, t]
            return model.readout(torch.relu(h)).square().sum()
        eps = 1e-6
        derivative = (loss_at(1 + eps) - loss_at(1 - eps)) / (2 * eps)
        assert radial_part(latent.grad, latent).item() * 8 == pytest.approx(derivative.item(), rel=1e-6)

    def test_needs_a_gradient(self):
        with pytest.raises(ValueError, match="after backward"):
            remove_radial_(torch.zeros(4, requires_grad=True))


class TestBop:
    def test_hand_computed_flips(self):
        w = torch.nn.Parameter(torch.tensor([0.3, -0.2, 0.1, -0.4, 0.0]))
        optimizer = Bop([w], gamma=0.5, threshold=0.25)
        w.grad = torch.tensor([1.0, 1.0, -1.0, -0.4, 0.6])
        optimizer.step()
        # m = 0.5 g = (0.5, 0.5, -0.5, -0.2, 0.3); flip where |m| > 0.25 and sign(m) == u:
        # u = (1, -1, 1, -1, 1): index 0 (0.5, +) flips, 1 (+ vs -) no, 2 (- vs +) no,
        # 3 (|m| = 0.2) no, 4 (0.3, + and u = +1 since 0 reads as +1) flips.
        assert torch.equal(w.detach(), torch.tensor([-1.0, -1.0, 1.0, -1.0, -1.0]))
        assert torch.equal(optimizer.state[w]["exp_avg"], torch.tensor([0.5, 0.5, -0.5, -0.2, 0.3]))
        w.grad = torch.tensor([0.0, 0.0, 0.0, -0.4, 0.0])
        optimizer.step()
        # m = (0.25, 0.25, -0.25, -0.3, 0.15): index 3 (-0.3, u = -1) flips; 0.25 is not > 0.25
        assert torch.equal(w.detach(), torch.tensor([-1.0, -1.0, 1.0, 1.0, -1.0]))

    def test_flip_budget_keeps_the_strongest(self):
        w = torch.nn.Parameter(torch.ones(4))
        optimizer = Bop([w], gamma=1.0, threshold=0.0, max_flips=2)
        w.grad = torch.tensor([0.1, 0.4, 0.3, -0.5])
        optimizer.step()
        assert torch.equal(w.detach(), torch.tensor([1.0, -1.0, -1.0, 1.0]))

    def test_no_gradient_no_change(self):
        w = torch.nn.Parameter(torch.tensor([0.3, -0.2]))
        Bop([w]).step()
        assert torch.equal(w.detach(), torch.tensor([0.3, -0.2]))

    @pytest.mark.parametrize(
        "options, message",
        [({"gamma": 0.0}, "gamma"), ({"gamma": 1.5}, "gamma"), ({"threshold": -1.0}, "threshold"),
         ({"max_flips": 0}, "max_flips"), ({"max_flips": True}, "max_flips")],
    )
    def test_rejects_bad_hyperparameters(self, options, message):
        with pytest.raises(ValueError, match=message):
            Bop([torch.nn.Parameter(torch.ones(2))], **options)

    def test_w_stays_exactly_hadamard_after_steps(self):
        model = _model()
        signs, rest = sign_parameter_groups(model)
        optimizers = [Bop(signs["params"], gamma=0.5, threshold=0.0), torch.optim.Adam([rest], lr=1e-2)]
        x, y = torch.randn(5, 7, 2), torch.randint(0, 3, (5,))
        flips = 0
        for _ in range(20):
            before = model.rnn.signs().detach().clone()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            for optimizer in optimizers:
                optimizer.zero_grad()
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
            flips += int((model.rnn.signs() != before).sum())
            scaled = model.rnn.weight_hh.detach() * 8**0.5
            assert torch.equal(scaled.round(), scaled.round().clamp(-1, 1)) and hadamrnn.is_hadamard(scaled.round())
            assert set(model.rnn.latent_signs.detach().tolist()) <= {-1.0, 1.0}
        assert flips > 0
