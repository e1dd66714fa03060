__version__ = "0.1.0"

# Noise a user sees on every run that is not ours, silenced narrowly (by logger and exact message):
# - bitsandbytes' CPU backend logs on import that the optional `kernels` package is missing, even when nothing is
#   quantized; its built-in fallback is what `03_quantization` measures;
# - transformers' FutureWarnings that TRL's and PEFT's own calls use the old `gradient_checkpointing` names.
import logging as _logging, warnings as _warnings

class _NotOurs(_logging.Filter):
    def filter(self, record): return "gemm_4bit_forward from kernels-community" not in record.getMessage()

_logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_NotOurs())
_warnings.filterwarnings("ignore", message=r"`(is_)?gradient_checkpointing` is deprecated", category=FutureWarning)
