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
/// So do the convolutions at the image itself (see `forLayer(touchingImages:)`).
public enum Precision: String, Codable, CaseIterable, Sendable {
    /// IEEE single precision throughout (the default).
    case f32
    /// bfloat16 operands inside the convolutions; needs a CPU with AVX512-BF16 (or AMX).
    case bf16

    /// The default: f32, bit-for-bit the behaviour before bf16 existed.
    public static let `default` = Precision.f32

    /// The precision of one convolution of a network built at this precision: the layers that read
    /// or write the image (D's and the encoders' first, G's last) stay f32, as mixed-precision
    /// recipes keep a network's first and last layers. With every layer in bf16, D ended each of the
    /// demo's GAN runs on seeds 2–7 a little stronger than in f32 (D(G(z)) lower on all six) and one
    /// GAN of seven drifted out of fit (E start + 20 0.632 against f32's 0.862); with these layers in
    /// f32 none drifted, and E start + 20 is +0.001 from f32 on the mean of the seven seeds
    /// (docs/DETECTION.md). They are among the cheapest layers (the image has one or a few channels).
    public func forLayer(touchingImages: Bool) -> Precision { touchingImages ? .f32 : self }
}
