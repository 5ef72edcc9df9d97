"""A vLLM general plugin: on the CPU backend, the LoRA kernels become grouped matrix products
(``ops.py``). vLLM loads it in every process it starts (the ``vllm.general_plugins`` entry
point); loading it twice is harmless. ``CS_VLLM_CPU_LORA=0`` leaves vLLM's own kernels in place
(for comparisons)."""

import logging
import os

log = logging.getLogger(__name__)


def register() -> None:
    if os.environ.get("CS_VLLM_CPU_LORA", "1") == "0":
        return
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return
    from vllm.lora.ops import torch_ops
    from vllm.lora.punica_wrapper import punica_cpu

    from cs_vllm_cpu_lora import ops

    for name in ops.KERNELS:
        kernel = getattr(ops, name)
        # punica_cpu imported the names at its own import, so both modules get the new ones.
        setattr(punica_cpu, name, kernel)
        setattr(torch_ops, name, kernel)
    log.info("cs_vllm_cpu_lora: grouped LoRA kernels in place of vLLM's CPU torch ops")
