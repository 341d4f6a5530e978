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
        let rule = AdamRule(beta1: s.beta1, beta2: s.beta2, stepSize: s.learningRate / c1, c2Root: c2.squareRoot(), epsilon: s.epsilon)
        let p = values.data, g = gradients.data, m = self.m.data, v = self.v.data
        // A full-size network's update is memory-bound (~9M values, four streams): 16 lanes at a time
        // and one part per thread. Each lane computes exactly the scalar rule, so results do not depend
        // on the split.
        Threads.forEachPart(of: values.count) { range in
            Lanes.forEach(range) { i, lanes in
                var pv = lanes.load(p + i), mv = lanes.load(m + i), vv = lanes.load(v + i)
                rule.apply(values: &pv, gradients: lanes.load(g + i), m: &mv, v: &vv)
                lanes.store(pv, to: p + i); lanes.store(mv, to: m + i); lanes.store(vv, to: v + i)
            }
        }
    }
}

extension Tensor {
    /// self ← decay·self + (1 − decay)·target, elementwise (an exponential moving average step).
    public func moveAverage(toward target: Tensor, decay: Float) {
        precondition(count == target.count, "moving average of \(target.shape) into \(shape)")
        let a = data, b = target.data, keep = 1 - decay
        Threads.forEachPart(of: count) { range in
            Lanes.forEach(range) { i, lanes in
                lanes.store(decay * lanes.load(a + i) + keep * lanes.load(b + i), to: a + i)
            }
        }
    }
}

/// One Adam step's constants, applied to 16 parameters at a time.
struct AdamRule {
    var beta1, beta2, stepSize, c2Root, epsilon: Float

    @inline(__always)
    func apply(values p: inout SIMD16<Float>, gradients g: SIMD16<Float>, m: inout SIMD16<Float>, v: inout SIMD16<Float>) {
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p -= stepSize * m / (v.squareRoot() / c2Root + epsilon)
    }
}

/// Elementwise loops over flat Float buffers, 16 values per iteration. The last, partial group is
/// loaded into zero-padded lanes and only its real values are written back.
enum Lanes {
    /// `body(i, group)` for i = lowerBound, lowerBound + 16, …; `group` loads and stores the values i..<i+16
    /// that lie in `range`.
    @inline(__always)
    static func forEach(_ range: Range<Int>, _ body: (Int, Group) -> Void) {
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            body(i, Group(count: 16))
            i += 16
        }
        if i < range.upperBound { body(i, Group(count: range.upperBound - i)) }
    }

    struct Group {
        /// Real values in this group (16 but for the last).
        let count: Int

        @inline(__always)
        func load(_ x: UnsafeMutablePointer<Float>) -> SIMD16<Float> {
            if count == 16 { return UnsafeRawPointer(x).loadUnaligned(as: SIMD16<Float>.self) }
            var lanes = SIMD16<Float>()
            for j in 0..<count { lanes[j] = x[j] }
            return lanes
        }

        @inline(__always)
        func store(_ lanes: SIMD16<Float>, to x: UnsafeMutablePointer<Float>) {
            if count == 16 { UnsafeMutableRawPointer(x).storeBytes(of: lanes, as: SIMD16<Float>.self); return }
            for j in 0..<count { x[j] = lanes[j] }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
