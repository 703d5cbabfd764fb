"""The layers of the FEMamba network (nn.Modules holding weights); the math kernels are in ``ops``."""
