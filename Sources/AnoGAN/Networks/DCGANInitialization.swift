// The DCGAN initialisation shared by the generator and discriminator (the
// architecture's sizes, DCGANConfig, are a record in Records/Settings).

import NeuralNet
import Records

/// DCGAN initialisation (Radford et al.): weights of convolutions and linear layers from N(0, 0.02),
/// BatchNorm γ from N(1, 0.02), β and biases 0. Draws in `parameters.specs` order.
func dcganInitialize(_ parameters: ParameterSet, using rng: inout SeededGenerator) {
    for spec in parameters.specs {
        let t = parameters.value(spec.name)
        if spec.name.hasPrefix("bn") && spec.name.hasSuffix(".weight") {
            for i in 0..<t.count { t.data[i] = rng.normal(mean: 1, std: 0.02) }
        } else if spec.name.hasSuffix(".weight") {
            for i in 0..<t.count { t.data[i] = rng.normal(mean: 0, std: 0.02) }
        } else {
            t.fill(0)
        }
    }
}

/// running_mean 0 and running_var 1, as PyTorch's BatchNorm starts.
func resetStatistics(_ statistics: ParameterSet) {
    for spec in statistics.specs {
        statistics.value(spec.name).fill(spec.name.hasSuffix("running_var") ? 1 : 0)
    }
}
