"""cyclegan_dist's networks in PyTorch, and the generators that `cyclegan_translate
--export-pytorch` writes: load them (load_exported), or export them to ONNX and TorchScript
(python -m cyclegan_dist.export).

    import cyclegan_dist
    G = cyclegan_dist.load_exported("export/", "AtoB")   # nn.Module in eval mode
    y = G(x)   # x: (N, C_in, H, W) float32 in the export's value range, H, W multiples of G.size_multiple
"""
from .exported import (DIRECTIONS, EXPORT_FORMAT, ExportFormatError, GeneratorInfo, build_generator,
                       generator_info, load_exported, read_model_json)
from .models import (UPSAMPLE_MODES, PatchDiscriminator, ResnetBlock, ResnetGenerator, SeedDiscriminator,
                     UnetGenerator)

__version__ = "0.1.0"

__all__ = ["DIRECTIONS", "EXPORT_FORMAT", "ExportFormatError", "GeneratorInfo", "build_generator",
           "generator_info", "load_exported", "read_model_json", "UPSAMPLE_MODES", "PatchDiscriminator", "ResnetBlock",
           "ResnetGenerator", "SeedDiscriminator", "UnetGenerator"]
