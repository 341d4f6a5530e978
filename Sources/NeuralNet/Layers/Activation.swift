// Element-wise activations (ReLU, LeakyReLU, Tanh, Sigmoid) on oneDNN eltwise
// primitives, with the plain-Swift reference beside them. Backward uses the
// forward output (the `*_use_dst_for_bwd` algorithms), so nothing else is kept.

import Records
import CDNNL
import Foundation

/// Which element-wise function an `Activation` (or a fused post-op) applies.
public enum ActivationKind: Equatable, Sendable {
    case relu
    /// max(x, 0) + slope·min(x, 0); slope ≥ 0.
    case leakyReLU(slope: Float)
    case tanh
    /// The logistic function 1 / (1 + e^−x).
    case sigmoid

    var forwardAlgorithm: dnnl_alg_kind_t {
        switch self {
        case .relu, .leakyReLU: return dnnl_eltwise_relu
        case .tanh: return dnnl_eltwise_tanh
        case .sigmoid: return dnnl_eltwise_logistic
        }
    }

    var backwardAlgorithm: dnnl_alg_kind_t {
        switch self {
        case .relu, .leakyReLU: return dnnl_eltwise_relu_use_dst_for_bwd
        case .tanh: return dnnl_eltwise_tanh_use_dst_for_bwd
        case .sigmoid: return dnnl_eltwise_logistic_use_dst_for_bwd
        }
    }

    var alpha: Float {
        if case .leakyReLU(let s) = self { return s }
        return 0
    }

    /// Reference: f(x).
    public func reference(_ x: Double) -> Double {
        switch self {
        case .relu: return max(x, 0)
        case .leakyReLU(let s): return x > 0 ? x : Double(s) * x
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return 1 / (1 + exp(-x))
        }
    }

    /// Reference: f′ expressed through the output y = f(x) (valid for all four kinds, slope ≥ 0).
    public func referenceDerivative(output y: Double) -> Double {
        switch self {
        case .relu: return y > 0 ? 1 : 0
        case .leakyReLU(let s): return y > 0 ? 1 : Double(s)
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        }
    }
}

/// An element-wise activation layer. Works on any layout (blocked or plain);
/// the output has the input's layout.
public final class Activation {
    public let kind: ActivationKind

    public init(_ kind: ActivationKind) {
        if case .leakyReLU(let s) = kind { precondition(s >= 0, "LeakyReLU slope must be ≥ 0 (backward uses the output)") }
        self.kind = kind
    }

    final class Plan {
        let input: DNNLMemory
        let output: DNNLMemory
        let forward: Execution
        let gradInput: DNNLMemory
        let backwardPD: PrimitiveDescriptor
        var backwards: [(InputAdapter, Execution)] = []
        init(kind: ActivationKind, desc: dnnl_memory_desc_t) {
            var md = desc
            var op = dnnl_eltwise_desc_t()
            DNNL.check(dnnl_eltwise_forward_desc_init(&op, dnnl_forward_training, kind.forwardAlgorithm, &md, kind.alpha, 0), "eltwise fwd")
            let fpd = PrimitiveDescriptor(op, what: "eltwise fwd", memoryBound: true)
            input = DNNLMemory(desc: desc, wrapping: nil)
            output = DNNLMemory(desc: desc)
            forward = Execution(fpd.makePrimitive(), [(DNNL_ARG_SRC, input), (DNNL_ARG_DST, output)])
            var bop = dnnl_eltwise_desc_t()
            DNNL.check(dnnl_eltwise_backward_desc_init(&bop, kind.backwardAlgorithm, &md, &md, kind.alpha, 0), "eltwise bwd")
            backwardPD = PrimitiveDescriptor(bop, hint: fpd, what: "eltwise bwd", memoryBound: true)
            gradInput = DNNLMemory(desc: desc)
        }
    }

    private let plans = PlanCache<Plan>()
    private var last: Plan?

    /// y = f(x), in x's layout. The returned memory is reused by the next forward with the same layout.
    public func forward(_ x: DNNLMemory) -> DNNLMemory {
        let p = plans.plan(for: x.desc) { Plan(kind: kind, desc: x.desc) }
        p.input.point(to: x.data)
        p.forward.run()
        last = p
        return p.output
    }

    /// Gradient w.r.t. the last forward's input, in that input's layout.
    public func backward(_ gradOutput: DNNLMemory) -> DNNLMemory {
        guard let p = last else { preconditionFailure("Activation.backward before forward") }
        let (adapter, exec) = backwardExecution(p, gradOutput.desc)
        adapter.load(gradOutput)
        exec.run()
        return p.gradInput
    }

    private func backwardExecution(_ p: Plan, _ given: dnnl_memory_desc_t) -> (InputAdapter, Execution) {
        // One adapter per distinct gradient layout (usually exactly one).
        for e in p.backwards where DNNL.equal(e.0.wrapper.desc, given) { return e }
        let adapter = InputAdapter(given: given, wanted: p.output.desc)
        let exec = Execution(p.backwardPD.makePrimitive(), [
            (DNNL_ARG_DST, p.output), (DNNL_ARG_DIFF_DST, adapter.memory), (DNNL_ARG_DIFF_SRC, p.gradInput),
        ])
        p.backwards.append((adapter, exec))
        return (adapter, exec)
    }

    // MARK: Tensor convenience (plain layouts; allocates — for tests and one-off use)

    private var lastInput: Tensor?

    /// y = f(x) for a plain tensor of any rank ≤ 4.
    public func forward(_ x: Tensor) -> Tensor {
        lastInput = x
        return forward(DNNLMemory(plain: x)).plainCopy().reshaped(x.shape)
    }

    /// Gradient w.r.t. the input of the last Tensor forward.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        backward(DNNLMemory(plain: gradOutput)).plainCopy().reshaped(gradOutput.shape)
    }

    // MARK: Reference

    /// Reference forward: y = f(x).
    public static func referenceForward(_ kind: ActivationKind, _ x: [Double]) -> [Double] { x.map(kind.reference) }

    /// Reference backward: dx = dy · f′(x), f′ taken through y = f(x).
    public static func referenceBackward(_ kind: ActivationKind, output y: [Double], gradOutput dy: [Double]) -> [Double] {
        zip(y, dy).map { kind.referenceDerivative(output: $0) * $1 }
    }
}
