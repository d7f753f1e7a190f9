"""The packed ±1 kernels of :mod:`hadamrnn.packing`: XOR-popcount GEMM and GEMV on uint64 words,
against the same products on unpacked ±1 integer matrices (``binary_matmul_reference``)."""

from __future__ import annotations

import numpy as np

from .common import pick, require


class PackedProducts:
    """``a @ b.T`` of ±1 matrices: ``gemm`` is a (32, k) batch times a (k, k) matrix, ``gemv`` one
    vector times a (k, k) matrix; ``packed`` works on 64 signs per word, ``unpacked`` on int8."""

    params = (pick([128, 512, 2048], [512]), ["gemm", "gemv"], ["packed", "unpacked"])
    param_names = ["k", "op", "layout"]

    def setup(self, k, op, layout):
        packing = require("hadamrnn.packing", "pack_signs", "binary_matmul_packed", "binary_matvec_packed",
                          "binary_matmul_reference")
        rng = np.random.default_rng(0)
        rows = 32 if op == "gemm" else 1
        a = rng.choice(np.array([-1, 1], dtype=np.int8), size=(rows, k))
        b = rng.choice(np.array([-1, 1], dtype=np.int8), size=(k, k))
        if layout == "unpacked":
            self.run = lambda: packing.binary_matmul_reference(a, b)
        elif op == "gemm":
            a_words, b_words = packing.pack_signs(a), packing.pack_signs(b)
            self.run = lambda: packing.binary_matmul_packed(a_words, b_words, k)
        else:
            vector_words, b_words = packing.pack_signs(a[0]), packing.pack_signs(b)
            self.run = lambda: packing.binary_matvec_packed(b_words, vector_words, k)
        self.run()

    def time_product(self, k, op, layout):
        self.run()

    def peakmem_product(self, k, op, layout):
        self.run()
