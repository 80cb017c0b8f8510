"""lowbit's Python toolkit: quantization-aware training for the lowbit engine.

`lowbit.quant` implements the quantization contract of docs/quantization.md in PyTorch (fake
quantization that is bit-exact with the C++ and CUDA quantizers, straight-through gradients,
learnable clips).
"""
from .quant import Scheme, FakeQuant, fake_quant, quantize, dequantize, QuantError

__all__ = ["Scheme", "FakeQuant", "fake_quant", "quantize", "dequantize", "QuantError"]
__version__ = "0.1.0"
