import torch

# Test shapes are tiny: intra-op threads only add synchronisation, which a busy machine punishes.
torch.set_num_threads(1)
