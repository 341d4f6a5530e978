// The arithmetic precision of the convolutions: the one setting that decides it.
// Training, mapping/scoring and encoder training carry it in their settings; the
// networks are built with it and hand it to every (transposed) convolution, whose
// plan is the only code that acts on it (NeuralNet's ConvolutionPlan).

/// Precision of the convolutions' inputs.
///
/// `bf16` is mixed precision as practitioners use it: each convolution reads bf16 copies of its
/// input, weights and incoming gradient (made just before the primitive runs) and writes f32
/// outputs, input gradients and weight gradients. Everything else stays f32: activations between
/// layers, master weights, Adam state, BatchNorm statistics, linear layers, losses, the latent z and its Adam.
public enum Precision: String, Codable, CaseIterable, Sendable {
    /// IEEE single precision throughout (the default).
    case f32
    /// bfloat16 operands inside the convolutions; needs a CPU with AVX512-BF16 (or AMX).
    case bf16

    /// The default: f32, bit-for-bit the behaviour before bf16 existed.
    public static let `default` = Precision.f32
}
