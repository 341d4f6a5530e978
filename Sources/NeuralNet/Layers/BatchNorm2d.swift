// BatchNorm2d with PyTorch semantics on oneDNN's batch-normalization
// primitive, with the plain-Swift reference beside it.
//
// Training mode normalises with the batch's mean and biased variance and
// updates running_mean / running_var (momentum 0.1, running_var from the
// unbiased variance). Inference mode uses the running statistics, so every
// image is independent of the rest of the batch. A following ReLU can be
// fused (oneDNN keeps a mask in a workspace for the backward pass).

import Records
import CDNNL

/// Batch normalisation over N, H, W for each channel of an N×C×H×W tensor.
public final class BatchNorm2d {
    public let channels: Int
    public let epsilon: Float
    /// Weight of the batch statistics in the running update (PyTorch's momentum); 1 makes the running
    /// statistics exactly the last batch's, which is how averaged weights get their statistics re-estimated.
    public var momentum: Float
    /// γ and β, `[channels]` each (views owned by the caller).
    public let weight: Tensor, bias: Tensor
    /// running_mean and running_var, `[channels]` each.
    public let runningMean: Tensor, runningVariance: Tensor
    public let weightGradient: Tensor?, biasGradient: Tensor?
    /// True: y = ReLU(BN(x)) in one primitive.
    public let fusedReLU: Bool

    public init(channels: Int, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
                weightGradient: Tensor? = nil, biasGradient: Tensor? = nil, fusedReLU: Bool = false,
                epsilon: Float = 1e-5, momentum: Float = 0.1) {
        for t in [weight, bias, runningMean, runningVariance] + [weightGradient, biasGradient].compactMap({ $0 }) {
            precondition(t.shape == [channels], "BatchNorm2d buffers must be [\(channels)], got \(t.shape)")
        }
        self.channels = channels; self.epsilon = epsilon; self.momentum = momentum
        self.weight = weight; self.bias = bias; self.runningMean = runningMean; self.runningVariance = runningVariance
        self.weightGradient = weightGradient; self.biasGradient = biasGradient; self.fusedReLU = fusedReLU
    }

    final class Plan {
        let training: Bool
        let count: Int   // N·H·W per channel
        let input: DNNLMemory
        let output: DNNLMemory
        let mean: DNNLMemory, variance: DNNLMemory
        let scale: DNNLMemory, shift: DNNLMemory
        let workspace: DNNLMemory?
        let forward: Execution
        let forwardPD: PrimitiveDescriptor
        let flags: UInt32
        let desc: dnnl_memory_desc_t
        var backwards: [(adapter: InputAdapter, execution: Execution)] = []
        let gradInput: DNNLMemory
        let gradScale: DNNLMemory, gradShift: DNNLMemory

        /// `external`: output and input gradient wrap buffers the caller points them at (segments of a larger batch).
        init(layer: BatchNorm2d, desc: dnnl_memory_desc_t, training: Bool, external: Bool = false) {
            let d = DNNL.dims(desc)
            precondition(d.count == 4 && d[1] == layer.channels, "BatchNorm2d expects N×\(layer.channels)×H×W, got \(d)")
            self.training = training
            self.desc = desc
            epsilon = layer.epsilon
            count = d[0] * d[2] * d[3]
            var f = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
            if !training { f |= dnnl_use_global_stats.rawValue }
            if layer.fusedReLU { f |= dnnl_fuse_norm_relu.rawValue }
            flags = f
            var md = desc
            var op = dnnl_batch_normalization_desc_t()
            // forward_training even in inference mode: it is what provides the ReLU workspace for backward.
            DNNL.check(dnnl_batch_normalization_forward_desc_init(&op, dnnl_forward_training, &md, layer.epsilon, f), "bnorm fwd")
            forwardPD = PrimitiveDescriptor(op, what: "bnorm fwd \(d) training=\(training)", memoryBound: true)
            input = DNNLMemory(desc: desc, wrapping: nil)
            output = external ? DNNLMemory(desc: desc, wrapping: nil) : DNNLMemory(desc: desc)
            let cDesc = DNNL.desc([layer.channels], dnnl_a, type: .f32)
            if training {
                mean = DNNLMemory(desc: cDesc); variance = DNNLMemory(desc: cDesc)
            } else {
                mean = DNNLMemory(desc: cDesc, wrapping: layer.runningMean.data)
                variance = DNNLMemory(desc: cDesc, wrapping: layer.runningVariance.data)
            }
            scale = DNNLMemory(desc: cDesc, wrapping: layer.weight.data)
            shift = DNNLMemory(desc: cDesc, wrapping: layer.bias.data)
            let wsDesc = forwardPD.md(dnnl_query_workspace_md)
            workspace = DNNL.byteSize(wsDesc) > 0 ? DNNLMemory(desc: wsDesc) : nil
            var args: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, input), (DNNL_ARG_DST, output), (DNNL_ARG_MEAN, mean),
                                               (DNNL_ARG_VARIANCE, variance), (DNNL_ARG_SCALE, scale), (DNNL_ARG_SHIFT, shift)]
            if let workspace { args.append((DNNL_ARG_WORKSPACE, workspace)) }
            forward = Execution(forwardPD.makePrimitive(), args)
            gradInput = external ? DNNLMemory(desc: desc, wrapping: nil) : DNNLMemory(desc: desc)
            gradScale = DNNLMemory(desc: cDesc)
            gradShift = DNNLMemory(desc: cDesc)
        }

        /// The backward primitive. Always prop_kind `backward` (diff γ, β too): oneDNN 2.6 has no
        /// `backward_data` for scale+shift on every layout, and the extra per-channel sums cost nothing.
        lazy var backwardPD: PrimitiveDescriptor = {
            var md = desc
            var op = dnnl_batch_normalization_desc_t()
            DNNL.check(dnnl_batch_normalization_backward_desc_init(&op, dnnl_backward, &md, &md, epsilon, flags), "bnorm bwd")
            return PrimitiveDescriptor(op, hint: forwardPD, what: "bnorm bwd \(DNNL.dims(desc))", memoryBound: true)
        }()
        let epsilon: Float
    }

    /// A batch normalised as consecutive segments, each with its own statistics (a real and a fake
    /// half in one pass). One plan for the segment shape, pointed at each segment in turn.
    final class SegmentedPlan {
        let plan: Plan
        let segments: Int
        /// Elements per segment (the batch dimension is outermost in every layout used).
        let stride: Int
        let output: DNNLMemory, gradInput: DNNLMemory
        let gradSegment: DNNLMemory
        var input: UnsafeMutablePointer<Float>?
        var means: [[Float]], variances: [[Float]]

        init(layer: BatchNorm2d, desc: dnnl_memory_desc_t, training: Bool, segments: Int) {
            let n = Int(desc.dims.0)
            precondition(segments >= 1 && n % segments == 0, "batch \(n) does not split into \(segments) segments")
            precondition(!layer.fusedReLU, "segmented BatchNorm with fused ReLU is not supported")
            var seg = desc
            seg.dims.0 = Int64(n / segments)
            seg.padded_dims.0 = Int64(n / segments)
            plan = Plan(layer: layer, desc: seg, training: training, external: true)
            self.segments = segments
            output = DNNLMemory(desc: desc)
            gradInput = DNNLMemory(desc: desc)
            stride = output.physicalCount / segments
            precondition(stride * segments == output.physicalCount && DNNL.byteSize(seg) == stride * output.dataType.byteSize, "segments are not contiguous")
            gradSegment = DNNLMemory(desc: seg, wrapping: nil)
            means = Array(repeating: [Float](repeating: 0, count: layer.channels), count: segments)
            variances = means
        }
    }

    private let plans = PlanCache<Plan>()
    private let segmentedPlans = PlanCache<SegmentedPlan>()
    private var last: Plan?
    private var lastSegmented: SegmentedPlan?

    /// y = γ·(x − μ)/√(σ² + ε) + β (then ReLU if fused), in x's layout (blocked layouts are much faster).
    /// training: batch statistics, running statistics updated; otherwise running statistics.
    /// `segments` > 1: the batch is that many consecutive equal parts, each normalised with its own
    /// statistics (and updating the running statistics in order), as separate calls would.
    public func forward(_ x: DNNLMemory, training: Bool, segments: Int = 1) -> DNNLMemory {
        if segments > 1 { return forwardSegmented(x, training: training, segments: segments) }
        let p = plans.plan(for: x.desc, mode: training ? 1 : 0) { Plan(layer: self, desc: x.desc, training: training) }
        p.input.point(to: x.data)
        p.forward.run()
        if training { updateRunningStatistics(p) }
        last = p
        lastSegmented = nil
        return p.output
    }

    private func forwardSegmented(_ x: DNNLMemory, training: Bool, segments: Int) -> DNNLMemory {
        let sp = segmentedPlans.plan(for: x.desc, mode: (training ? 1 : 0) + 2 * segments) {
            SegmentedPlan(layer: self, desc: x.desc, training: training, segments: segments)
        }
        let p = sp.plan
        sp.input = x.data
        for s in 0..<segments {
            p.input.point(to: x.data + s * sp.stride)
            p.output.point(to: sp.output.data + s * sp.stride)
            p.forward.run()
            if training {
                updateRunningStatistics(p)
                sp.means[s].withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: p.mean.data, count: channels) }
                sp.variances[s].withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: p.variance.data, count: channels) }
            }
        }
        last = nil
        lastSegmented = sp
        return sp.output
    }

    private func updateRunningStatistics(_ p: Plan) {
        let m = momentum
        let unbias = p.count > 1 ? Float(p.count) / Float(p.count - 1) : 1
        let rm = runningMean.data, rv = runningVariance.data, bm = p.mean.data, bv = p.variance.data
        for c in 0..<channels {
            rm[c] = (1 - m) * rm[c] + m * bm[c]
            rv[c] = (1 - m) * rv[c] + m * bv[c] * unbias
        }
    }

    /// dL/dx of the last forward (in x's layout); adds dL/dγ, dL/dβ when `weightGradients`.
    public func backward(_ gradOutput: DNNLMemory, weightGradients: Bool) -> DNNLMemory {
        if let sp = lastSegmented {
            let p = sp.plan
            precondition(DNNL.equal(gradOutput.desc, sp.output.desc), "segmented BatchNorm gradient must have the output's layout")
            for s in 0..<sp.segments {
                if p.training {
                    sp.means[s].withUnsafeBufferPointer { p.mean.data.update(from: $0.baseAddress!, count: channels) }
                    sp.variances[s].withUnsafeBufferPointer { p.variance.data.update(from: $0.baseAddress!, count: channels) }
                }
                p.input.point(to: sp.input! + s * sp.stride)
                p.gradInput.point(to: sp.gradInput.data + s * sp.stride)
                sp.gradSegment.point(to: gradOutput.data + s * sp.stride)
                _ = runBackward(p, sp.gradSegment, weightGradients: weightGradients)
            }
            return sp.gradInput
        }
        guard let p = last else { preconditionFailure("BatchNorm2d.backward before forward") }
        return runBackward(p, gradOutput, weightGradients: weightGradients)
    }

    private func runBackward(_ p: Plan, _ gradOutput: DNNLMemory, weightGradients: Bool) -> DNNLMemory {
        var entry = p.backwards.first { DNNL.equal($0.adapter.wrapper.desc, gradOutput.desc) }
        if entry == nil {
            let adapter = InputAdapter(given: gradOutput.desc, wanted: p.desc)
            var args: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, p.input), (DNNL_ARG_MEAN, p.mean), (DNNL_ARG_VARIANCE, p.variance),
                                               (DNNL_ARG_DIFF_DST, adapter.memory), (DNNL_ARG_SCALE, p.scale), (DNNL_ARG_SHIFT, p.shift),
                                               (DNNL_ARG_DIFF_SRC, p.gradInput), (DNNL_ARG_DIFF_SCALE, p.gradScale), (DNNL_ARG_DIFF_SHIFT, p.gradShift)]
            if let ws = p.workspace { args.append((DNNL_ARG_WORKSPACE, ws)) }
            entry = (adapter, Execution(p.backwardPD.makePrimitive(), args))
            p.backwards.append(entry!)
        }
        entry!.adapter.load(gradOutput)
        entry!.execution.run()
        if weightGradients {
            guard let wg = weightGradient, let bg = biasGradient else { preconditionFailure("BatchNorm2d has no gradient buffers") }
            let gs = p.gradScale.data, gb = p.gradShift.data
            for c in 0..<channels { wg.data[c] += gs[c]; bg.data[c] += gb[c] }
        }
        return p.gradInput
    }

    private var lastInput: Tensor?
    /// Plain-tensor forward (allocates; for tests and one-off use).
    public func forward(_ x: Tensor, training: Bool) -> Tensor { lastInput = x; return forward(DNNLMemory(plain: x), training: training).plainCopy() }
    /// Plain-tensor backward of the last plain forward.
    public func backward(_ gradOutput: Tensor, weightGradients: Bool) -> Tensor {
        backward(DNNLMemory(plain: gradOutput), weightGradients: weightGradients).plainCopy()
    }

    // MARK: Reference (plain loops, Double)

    /// Reference forward. Training: batch mean and biased variance; also returns the new running
    /// statistics (momentum `m`, unbiased variance). Inference: running statistics. No ReLU.
    public static func referenceForward(x: [Double], shape s: [Int], gamma: [Double], beta: [Double], runningMean: [Double],
                                        runningVariance: [Double], training: Bool, epsilon e: Double = 1e-5, momentum m: Double = 0.1)
        -> (y: [Double], runningMean: [Double], runningVariance: [Double]) {
        let (n, c, hw) = (s[0], s[1], s[2] * s[3])
        var y = x, rm = runningMean, rv = runningVariance
        for ch in 0..<c {
            var mean = runningMean[ch], variance = runningVariance[ch]
            if training {
                var sum = 0.0, sq = 0.0
                for b in 0..<n { for i in 0..<hw { sum += x[(b * c + ch) * hw + i] } }
                mean = sum / Double(n * hw)
                for b in 0..<n { for i in 0..<hw { let d = x[(b * c + ch) * hw + i] - mean; sq += d * d } }
                variance = sq / Double(n * hw)
                rm[ch] = (1 - m) * rm[ch] + m * mean
                rv[ch] = (1 - m) * rv[ch] + m * sq / Double(max(n * hw - 1, 1))
            }
            let inv = 1 / (variance + e).squareRoot()
            for b in 0..<n { for i in 0..<hw { let k = (b * c + ch) * hw + i; y[k] = gamma[ch] * (x[k] - mean) * inv + beta[ch] } }
        }
        return (y, rm, rv)
    }

    /// Reference backward (no ReLU): (dL/dx, dL/dγ, dL/dβ). Training mode differentiates through the batch statistics.
    public static func referenceBackward(x: [Double], shape s: [Int], gamma: [Double], runningMean: [Double], runningVariance: [Double],
                                         gradOutput dy: [Double], training: Bool, epsilon e: Double = 1e-5) -> (dx: [Double], dgamma: [Double], dbeta: [Double]) {
        let (n, c, hw) = (s[0], s[1], s[2] * s[3])
        let count = Double(n * hw)
        var dx = x, dg = [Double](repeating: 0, count: c), db = [Double](repeating: 0, count: c)
        for ch in 0..<c {
            var mean = runningMean[ch], variance = runningVariance[ch]
            if training {
                var sum = 0.0, sq = 0.0
                for b in 0..<n { for i in 0..<hw { sum += x[(b * c + ch) * hw + i] } }
                mean = sum / count
                for b in 0..<n { for i in 0..<hw { let d = x[(b * c + ch) * hw + i] - mean; sq += d * d } }
                variance = sq / count
            }
            let inv = 1 / (variance + e).squareRoot()
            for b in 0..<n { for i in 0..<hw {
                let k = (b * c + ch) * hw + i
                dg[ch] += dy[k] * (x[k] - mean) * inv
                db[ch] += dy[k]
            } }
            for b in 0..<n { for i in 0..<hw {
                let k = (b * c + ch) * hw + i
                let xhat = (x[k] - mean) * inv
                dx[k] = training ? gamma[ch] * inv * (dy[k] - db[ch] / count - xhat * dg[ch] / count) : gamma[ch] * inv * dy[k]
            } }
        }
        return (dx, dg, db)
    }
}
