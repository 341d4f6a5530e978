// What every network is to the code around it (trainers, optimisers,
// checkpoints, tests): trainable parameters and BatchNorm running statistics,
// each in one flat ParameterSet, and a way to start from random values. The
// declaration of those sets (NetworkSpecs), the DCGAN initialisation, zeroing
// and copying are written here once; a network only says which tensors it has
// and wires its layers to views of them.

import Records

/// A network whose state is two flat ParameterSets (cf. mlx-swift's `Module`).
public protocol Network: AnyObject {
    /// Trainable parameters, gradients laid out alike; names and order are the checkpoint format.
    var parameters: ParameterSet { get }
    /// State a training-mode forward updates but no optimiser touches (BatchNorm running mean and variance).
    var statistics: ParameterSet { get }
    /// Draws the parameters from `rng` (in `parameters.specs` order) and resets the statistics.
    /// Default: the DCGAN initialisation (`ParameterSet.initializeDCGAN`), which every network here uses.
    func initialize(using rng: inout SeededGenerator)
}

extension Network {
    public func initialize(using rng: inout SeededGenerator) {
        parameters.initializeDCGAN(using: &rng)
        statistics.resetRunningStatistics()
    }

    /// Sets every parameter gradient to 0 (one fill).
    public func zeroGradients() { parameters.zeroGradients() }

    /// Every parameter in spec order, then every statistic, named `prefix + spec name` (views, no copies).
    public func namedTensors(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        [parameters, statistics].flatMap { set in set.specs.map { (prefix + $0.name, set.value($0.name)) } }
    }

    /// Copies the parameters and statistics of `other`, which must declare the same specs. Gradients are untouched.
    public func copyState(from other: any Network) {
        parameters.assignValues(from: other.parameters)
        statistics.assignValues(from: other.statistics)
    }
}

/// A network's parameter and statistic specs, collected in declaration order (which is the order
/// of the flat buffers, of the initialisation's random draws and of checkpoints).
public struct NetworkSpecs {
    public private(set) var parameters: [ParameterSpec] = []
    public private(set) var statistics: [ParameterSpec] = []

    public init() {}

    /// A trainable tensor, e.g. ("conv1.weight", [64, 1, 5, 5]).
    public mutating func parameter(_ name: String, _ shape: [Int]) {
        parameters.append(ParameterSpec(name: name, shape: shape))
    }

    /// BatchNorm `name` over `channels`: γ and β as the parameters `name.weight`, `name.bias`
    /// (PyTorch's names), running mean and variance as the statistics `name.running_mean`, `name.running_var`.
    public mutating func batchNorm(_ name: String, channels: Int) {
        parameter("\(name).weight", [channels])
        parameter("\(name).bias", [channels])
        statistics += [ParameterSpec(name: "\(name).running_mean", shape: [channels]),
                       ParameterSpec(name: "\(name).running_var", shape: [channels])]
    }

    /// The two sets; parameters zero, statistics reset (mean 0, variance 1).
    public func makeSets() -> (parameters: ParameterSet, statistics: ParameterSet) {
        let st = ParameterSet(statistics)
        st.resetRunningStatistics()
        return (ParameterSet(parameters), st)
    }
}

extension ParameterSet {
    /// DCGAN initialisation (Radford et al.): weights of convolutions and linear layers from N(0, 0.02),
    /// BatchNorm γ from N(1, 0.02), β and biases 0. Draws in `specs` order. BatchNorm layers are the
    /// ones named `bn…` (their γ is `bn….weight`, as in PyTorch).
    public func initializeDCGAN(using rng: inout SeededGenerator) {
        for spec in specs {
            let t = value(spec.name)
            if spec.name.hasPrefix("bn") && spec.name.hasSuffix(".weight") {
                for i in 0..<t.count { t.data[i] = rng.normal(mean: 1, std: 0.02) }
            } else if spec.name.hasSuffix(".weight") {
                for i in 0..<t.count { t.data[i] = rng.normal(mean: 0, std: 0.02) }
            } else {
                t.fill(0)
            }
        }
    }

    /// running_var 1 and everything else (running_mean) 0, as PyTorch's BatchNorm starts.
    public func resetRunningStatistics() {
        for spec in specs {
            value(spec.name).fill(spec.name.hasSuffix("running_var") ? 1 : 0)
        }
    }

    /// Copies the values (not the gradients) of `other`, which must have the same specs.
    public func assignValues(from other: ParameterSet) {
        precondition(specs == other.specs, "cannot copy parameters between different declarations")
        values.assign(from: other.values)
    }
}
