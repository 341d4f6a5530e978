// An inference-mode copy of D for the latent mapping. With BatchNorm on
// running statistics, BN is a per-channel affine map, so it folds into the
// preceding convolution: W′ = W·γ/√(σ²+ε), b′ = β − μ·γ/√(σ²+ε). LeakyReLU then
// fuses into that convolution as a oneDNN post-op, so each block is one
// primitive forward and two backward instead of three and three — the mapping
// runs hundreds of steps per batch. (G is not folded: oneDNN 2.6 applies a
// transposed convolution's bias and post-ops in extra slow passes, measured
// 95–231 ms against 77–95 ms without; G's BatchNorm+ReLU is one fused primitive anyway.)
// The folded copy holds its own weights; `refresh()` recomputes them.

import NeuralNet
import Records

/// Per-channel scale and shift of an inference-mode BatchNorm.
private func batchNormAffine(_ p: ParameterSet, _ s: ParameterSet, _ name: String, epsilon: Float = 1e-5) -> (scale: [Float], shift: [Float]) {
    let g = p.value("\(name).weight"), b = p.value("\(name).bias")
    let m = s.value("\(name).running_mean"), v = s.value("\(name).running_var")
    var scale = [Float](repeating: 0, count: g.count), shift = scale
    for c in 0..<g.count {
        scale[c] = g[c] / (v[c] + epsilon).squareRoot()
        shift[c] = b[c] - m[c] * scale[c]
    }
    return (scale, shift)
}

/// D in inference mode with every BatchNorm folded into the convolution before it.
final class FoldedDiscriminator {
    let source: Discriminator
    private let weights: [Tensor]
    private let biases: [Tensor]
    let convs: [Conv2d]

    init(_ d: Discriminator) {
        source = d
        let ch = [d.config.channels] + d.config.ladder
        weights = (1...4).map { Tensor(shape: [ch[$0], ch[$0 - 1], 5, 5]) }
        biases = (1...4).map { Tensor(shape: [ch[$0]]) }
        convs = (1...4).map { [weights, biases] i in
            Conv2d(inputChannels: ch[i - 1], outputChannels: ch[i], kernelSize: 5, stride: 2, padding: 2,
                   weight: weights[i - 1], bias: biases[i - 1], activation: .leakyReLU(slope: 0.2),
                   precision: d.precision.forLayer(touchingImages: i == 1))
        }
        refresh()
    }

    /// Recomputes the folded weights from D's current parameters and running statistics.
    func refresh() {
        let p = source.parameters, st = source.statistics
        for i in 1...4 {
            let w = p.value("conv\(i).weight"), out = w.shape[0], per = w.count / out
            let affine: (scale: [Float], shift: [Float]) = i > 1 ? batchNormAffine(p, st, "bn\(i)")
                : ([Float](repeating: 1, count: out), p.value("conv1.bias").array)
            for o in 0..<out {
                for k in 0..<per { weights[i - 1].data[o * per + k] = w.data[o * per + k] * affine.scale[o] }
                biases[i - 1].data[o] = affine.shift[o]
            }
        }
    }

    /// x plain N×C×S×S → (logits plain N×1 if asked, features f(x) in D's blocked layout).
    func forward(_ x: DNNLMemory, logits: Bool, weightsUnchanged: Bool) -> (logits: DNNLMemory?, features: DNNLMemory) {
        var h = x
        for c in convs { h = c.forward(h, weightsUnchanged: weightsUnchanged) }
        return (logits ? source.classify.forward(h, weightsUnchanged: weightsUnchanged) : nil, h)
    }

    /// Gradient w.r.t. x (plain) from dL/dlogits (plain N×1) or dL/df (features' layout). No weight gradients.
    func backward(gradLogits: DNNLMemory?, gradFeatures: DNNLMemory?, weightsUnchanged: Bool) -> DNNLMemory {
        var g: DNNLMemory
        if let gl = gradLogits {
            precondition(gradFeatures == nil, "folded D takes one gradient")
            g = source.classify.backward(gl, weightGradients: false, weightsUnchanged: weightsUnchanged)!
        } else {
            g = gradFeatures!
        }
        for c in convs.reversed() { g = c.backward(g, weightGradients: false, weightsUnchanged: weightsUnchanged)! }
        return g
    }
}
