// Parameters, gradients and optimizer state in flat buffers (llm.c style).
// Each layer's weights are named views into one allocation, so zeroing all
// gradients is one fill, an optimizer step is one loop and saving is one write.

import Records

/// The name and shape of one parameter tensor, e.g. ("g.conv1.weight", [512, 256, 5, 5]).
public struct ParameterSpec: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }
}

/// All parameters of a network in one flat buffer, with gradients in a second
/// flat buffer of the same layout.
public final class ParameterSet: @unchecked Sendable {
    public let specs: [ParameterSpec]
    /// Every parameter, concatenated in `specs` order.
    public let values: Tensor
    /// Every gradient, laid out like `values`.
    public let gradients: Tensor
    private let offsets: [String: Int]

    public init(_ specs: [ParameterSpec]) {
        var offsets: [String: Int] = [:]
        var total = 0
        for s in specs {
            precondition(offsets[s.name] == nil, "duplicate parameter name \(s.name)")
            offsets[s.name] = total
            total += s.shape.reduce(1, *)
        }
        self.specs = specs
        self.offsets = offsets
        values = Tensor(shape: [total])
        gradients = Tensor(shape: [total])
    }

    public var count: Int { values.count }

    public func contains(_ name: String) -> Bool { offsets[name] != nil }

    /// The parameter called `name`, as a view into `values`.
    public func value(_ name: String) -> Tensor { view(values, name) }

    /// The gradient of the parameter called `name`, as a view into `gradients`.
    public func gradient(_ name: String) -> Tensor { view(gradients, name) }

    private func view(_ flat: Tensor, _ name: String) -> Tensor {
        guard let offset = offsets[name], let spec = specs.first(where: { $0.name == name }) else {
            preconditionFailure("no parameter named \(name)")
        }
        return Tensor(viewing: flat.storage, offset: offset, shape: spec.shape)
    }

    public func zeroGradients() { gradients.fill(0) }
}

// Adam's settings (`AdamSettings`) are a record in Records/Settings: checkpoints store them.

/// Adam over one flat buffer. PyTorch's update rule: bias-corrected moments,
/// ε added to the square root of the corrected second moment.
public final class Adam: @unchecked Sendable {
    public var settings: AdamSettings
    /// First and second moments, laid out like the parameters.
    public let m: Tensor
    public let v: Tensor
    /// Number of updates taken so far.
    public var step: Int = 0

    public init(count: Int, settings: AdamSettings) {
        self.settings = settings
        m = Tensor(shape: [count])
        v = Tensor(shape: [count])
    }

    public func reset() {
        m.fill(0)
        v.fill(0)
        step = 0
    }

    /// values -= lr · m̂ / (√v̂ + ε), with m and v the running moments of `gradients`.
    public func update(values: Tensor, gradients: Tensor) {
        precondition(values.count == m.count && gradients.count == m.count,
                     "Adam over \(m.count) values got \(values.count) values and \(gradients.count) gradients")
        step += 1
        let s = settings
        let c1 = 1 - pow(s.beta1, Float(step))
        let c2 = 1 - pow(s.beta2, Float(step))
        let stepSize = s.learningRate / c1
        let c2Root = c2.squareRoot()
        let p = values.data, g = gradients.data, m = self.m.data, v = self.v.data
        for i in 0..<values.count {
            let gi = g[i]
            m[i] = s.beta1 * m[i] + (1 - s.beta1) * gi
            v[i] = s.beta2 * v[i] + (1 - s.beta2) * gi * gi
            p[i] -= stepSize * m[i] / (v[i].squareRoot() / c2Root + s.epsilon)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
