// Layers over named views of a network's ParameterSets: `Conv2d("conv2",
// in: parameters, …)` takes `conv2.weight` (and `conv2.bias` when the set has
// one) with their gradients, and reads the layer's sizes from the weight's
// shape, so a network declares each tensor once (NetworkSpecs) and never
// restates a size when wiring its layers.

import Records

extension Linear {
    /// `name.weight` [out, in] and, when declared, `name.bias` [out] of `p`, with gradients.
    public convenience init(_ name: String, in p: ParameterSet) {
        let w = p.value("\(name).weight"), hasBias = p.contains("\(name).bias")
        self.init(inputFeatures: w.shape[1], outputFeatures: w.shape[0], weight: w,
                  bias: hasBias ? p.value("\(name).bias") : nil,
                  weightGradient: p.gradient("\(name).weight"), biasGradient: hasBias ? p.gradient("\(name).bias") : nil)
    }
}

extension Conv2d {
    /// `name.weight` [out, in, k, k] and, when declared, `name.bias` [out] of `p`, with gradients.
    public convenience init(_ name: String, in p: ParameterSet, stride: Int = 1, padding: Int = 0, activation: ActivationKind? = nil,
                            precision: Precision = .default) {
        let w = p.value("\(name).weight"), hasBias = p.contains("\(name).bias")
        self.init(inputChannels: w.shape[1], outputChannels: w.shape[0], kernelSize: w.shape[2], stride: stride, padding: padding,
                  weight: w, bias: hasBias ? p.value("\(name).bias") : nil,
                  weightGradient: p.gradient("\(name).weight"), biasGradient: hasBias ? p.gradient("\(name).bias") : nil,
                  activation: activation, precision: precision)
    }
}

extension ConvTranspose2d {
    /// `name.weight` [in, out, k, k] and, when declared, `name.bias` [out] of `p`, with gradients.
    public convenience init(_ name: String, in p: ParameterSet, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0,
                            activation: ActivationKind? = nil, plainOutput: Bool = false, precision: Precision = .default) {
        let w = p.value("\(name).weight"), hasBias = p.contains("\(name).bias")
        self.init(inputChannels: w.shape[0], outputChannels: w.shape[1], kernelSize: w.shape[2], stride: stride, padding: padding,
                  outputPadding: outputPadding, weight: w, bias: hasBias ? p.value("\(name).bias") : nil,
                  weightGradient: p.gradient("\(name).weight"), biasGradient: hasBias ? p.gradient("\(name).bias") : nil,
                  activation: activation, plainOutput: plainOutput, precision: precision)
    }
}

extension BatchNorm2d {
    /// γ, β = `name.{weight,bias}` of `p` (with gradients) and `name.{running_mean,running_var}` of `statistics`,
    /// as `NetworkSpecs.batchNorm` declares them.
    public convenience init(_ name: String, in p: ParameterSet, statistics st: ParameterSet, fusedReLU: Bool = false) {
        let gamma = p.value("\(name).weight")
        self.init(channels: gamma.count, weight: gamma, bias: p.value("\(name).bias"),
                  runningMean: st.value("\(name).running_mean"), runningVariance: st.value("\(name).running_var"),
                  weightGradient: p.gradient("\(name).weight"), biasGradient: p.gradient("\(name).bias"), fusedReLU: fusedReLU)
    }
}
