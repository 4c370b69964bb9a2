//! measure: a short real decode over the model's own quantized tensors, on the GPU (wgpu + WGSL:
//! Metal, Vulkan, DX12) or the CPU, reported beside the prediction.
