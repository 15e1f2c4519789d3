"""PyTorch networks, training, quantization, ONNX export and the artifacts the pipeline loads.

The streaming pipeline loads artifacts with ONNX Runtime only; torch is needed for training.
"""

__all__: list[str] = []
