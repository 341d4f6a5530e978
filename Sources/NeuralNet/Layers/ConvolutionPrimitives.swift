// The oneDNN side shared by Conv2d and ConvTranspose2d: forward (with an
// optional fused activation), backward data and backward weights primitives,
// created once per input layout. Layouts are left to oneDNN (`format_any`,
// blocked) except on sides with fewer than 4 channels, which stay plain NCHW
// (blocked layouts there fall back to slow reference kernels).
//
// Precision (Records' Precision, as `operandType`): with bf16 the primitives read
// bf16 src, weights and diff_dst and write f32 dst, diff_src and diff_weights
// (oneDNN's jit bf16 kernels accept f32 on those sides), so activations, gradients
// and master weights stay f32 between layers. The bf16 copies are made by the
// reorders a plan already has (input into the primitive's layout, user weights into
// the primitive's layout, gradient into the primitive's layout), which now also
// convert the type: the weights once per forward unless `weightsUnchanged`, the
// incoming gradient once per backward and shared by backward data and weights.
// Weight gradients run on bf16 operands too (DNNL.bf16WeightGradients; their thread count is
// DNNL.bf16WeightGradientThreads: oneDNN 2.6's bf16 kernel is erratic on two threads of a shared machine).
// In the deepest bias-free layers, where that kernel is slowest, they run as im2col + bf16 matmul
// instead (GemmWeightGradient, DNNL.bf16GemmWeightGradients).

import Records
import CDNNL

/// Geometry of a 2-D (transposed) convolution with square kernels.
struct ConvolutionGeometry {
    var transposed: Bool
    var inputChannels: Int
    var outputChannels: Int
    var kernelSize: Int
    var stride: Int
    var padding: Int
    var outputPadding: Int
    /// Type of src, weights and diff_dst inside the primitives (dst, diff_src, diff_weights, bias are f32).
    var operandType: DataType = .f32
    /// Type of src and diff_dst inside the weight-gradient primitive.
    var weightGradientType: DataType = .f32
    /// Hand the output back in plain NCHW whatever layout the primitive computes in (network edges).
    var plainOutput = false

    func outputSize(_ n: Int) -> Int {
        transposed ? (n - 1) * stride - 2 * padding + kernelSize + outputPadding
                   : (n + 2 * padding - kernelSize) / stride + 1
    }

    /// oneDNN's right/bottom padding that reproduces PyTorch's output size.
    func paddingRight(input n: Int) -> Int {
        let o = outputSize(n)
        return transposed ? (n - 1) * stride + kernelSize - padding - o
                          : (o - 1) * stride + kernelSize - n - padding
    }

    /// Weights as oneDNN sees them: dims O, I, k, k; PyTorch stores conv as OIHW, transposed conv as IOHW.
    var userWeightDesc: dnnl_memory_desc_t {
        DNNL.desc([outputChannels, inputChannels, kernelSize, kernelSize], transposed ? dnnl_bacd : dnnl_abcd, type: .f32)
    }
}

/// Primitives and buffers of one (transposed) convolution for one input layout.
final class ConvolutionPlan {
    let geometry: ConvolutionGeometry
    let activation: ActivationKind?
    let hasBias: Bool
    let source: InputAdapter
    let weightsUser: DNNLMemory
    let weights: DNNLMemory
    let weightsReorder: Execution?
    let bias: DNNLMemory?
    /// The primitive's destination, in its chosen layout.
    let dst: DNNLMemory
    /// What callers get: `dst`, or its plain copy when the geometry asks for plain output.
    let output: DNNLMemory
    let outputReorder: Execution?
    let forward: Execution
    /// The activation as its own primitive, in place on `dst`, when it is not fused (see `fusesActivation`).
    let separateActivation: Execution?
    var weightsLoaded = false

    private let forwardPD: PrimitiveDescriptor
    private let srcDesc: dnnl_memory_desc_t
    private let dstDesc: dnnl_memory_desc_t
    private let strides: [Int64], padL: [Int64], padR: [Int64]

    init(geometry g: ConvolutionGeometry, activation: ActivationKind?, input: dnnl_memory_desc_t,
         weight: Tensor, bias biasTensor: Tensor?) {
        geometry = g
        self.activation = activation
        hasBias = biasTensor != nil
        let d = DNNL.dims(input)
        precondition(d.count == 4 && d[1] == g.inputChannels, "convolution expects N×\(g.inputChannels)×H×W, got \(d)")
        let (n, h, w) = (d[0], d[2], d[3])
        let oh = g.outputSize(h), ow = g.outputSize(w)
        precondition(oh > 0 && ow > 0, "convolution output would be empty for input \(d)")
        strides = [Int64(g.stride), Int64(g.stride)]
        padL = [Int64(g.padding), Int64(g.padding)]
        padR = [Int64(g.paddingRight(input: h)), Int64(g.paddingRight(input: w))]
        // Few output channels: blocked layouts pad them to 16 and the forward does 16× the work;
        // plain NCHW runs a GEMM kernel instead (the backward passes prefer blocked: see backwardDescriptor).
        let srcAny = DNNL.desc(d, dnnl_format_tag_any, type: g.operandType)
        let dstAny = DNNL.desc([n, g.outputChannels, oh, ow], g.outputChannels < 4 ? dnnl_abcd : dnnl_format_tag_any, type: .f32)
        var wAny = DNNL.desc([g.outputChannels, g.inputChannels, g.kernelSize, g.kernelSize], dnnl_format_tag_any, type: g.operandType)
        let bDesc = DNNL.desc([g.outputChannels], dnnl_a, type: .f32)
        var s = srcAny, dd = dstAny
        let attr = eltwiseAttribute(ConvolutionPlan.fusesActivation(g) ? activation : nil)
        defer { if let attr { dnnl_primitive_attr_destroy(attr) } }
        let fpd: PrimitiveDescriptor
        if g.transposed {
            var op = dnnl_deconvolution_desc_t()
            DNNL.check(dnnl_deconvolution_forward_desc_init(&op, dnnl_forward_training, dnnl_deconvolution_direct, &s, &wAny,
                                                            withOptionalPointer(hasBias ? bDesc : nil), &dd, strides, padL, padR), "deconv fwd desc")
            fpd = PrimitiveDescriptor(op, attr: attr, what: "deconv fwd \(d)")
        } else {
            var op = dnnl_convolution_desc_t()
            DNNL.check(dnnl_convolution_forward_desc_init(&op, dnnl_forward_training, dnnl_convolution_direct, &s, &wAny,
                                                          withOptionalPointer(hasBias ? bDesc : nil), &dd, strides, padL, padR), "conv fwd desc")
            fpd = PrimitiveDescriptor(op, attr: attr, what: "conv fwd \(d)")
        }
        forwardPD = fpd
        srcDesc = fpd.md(dnnl_query_src_md)
        dstDesc = fpd.md(dnnl_query_dst_md)
        source = InputAdapter(given: input, wanted: srcDesc)
        weightsUser = DNNLMemory(desc: g.userWeightDesc, wrapping: weight.data)
        let wDesc = fpd.md(dnnl_query_weights_md)
        if DNNL.equal(wDesc, g.userWeightDesc) {
            weights = weightsUser
            weightsReorder = nil
        } else {
            weights = DNNLMemory(desc: wDesc)
            weightsReorder = Reorder(from: g.userWeightDesc, to: wDesc).bind(weightsUser, weights)
        }
        bias = biasTensor.map { DNNLMemory(desc: bDesc, wrapping: $0.data) }
        dst = DNNLMemory(desc: dstDesc)
        let plainDst = DNNL.plainDesc([n, g.outputChannels, oh, ow], type: .f32)
        if g.plainOutput && !DNNL.equal(dstDesc, plainDst) {
            output = DNNLMemory(desc: plainDst)
            outputReorder = Reorder(from: dstDesc, to: plainDst).bind(dst, output)
        } else {
            output = dst
            outputReorder = nil
        }
        var args: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, source.memory), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DST, dst)]
        if let bias { args.append((DNNL_ARG_BIAS, bias)) }
        forward = Execution(fpd.makePrimitive(), args)
        if let activation, !ConvolutionPlan.fusesActivation(g) {
            var md = dstDesc
            var op = dnnl_eltwise_desc_t()
            DNNL.check(dnnl_eltwise_forward_desc_init(&op, dnnl_forward_training, activation.forwardAlgorithm, &md, activation.alpha, 0), "eltwise fwd")
            let pd = PrimitiveDescriptor(op, what: "eltwise fwd (conv)", memoryBound: true)
            separateActivation = Execution(pd.makePrimitive(), [(DNNL_ARG_SRC, dst), (DNNL_ARG_DST, dst)])
        } else {
            separateActivation = nil
        }
    }

    /// Whether the activation runs as the convolution's post-op. Not with fewer than 4 output channels:
    /// there the output is plain NCHW and oneDNN 2.6 picks its gemm kernel, which applies a post-op
    /// eltwise in a slow pass of its own (G's last layer, 16→1 at batch 32: 0.54 ms with bias, 2.2 ms
    /// with bias and tanh; a separate eltwise primitive over the same 131 072 values takes a few percent of that).
    static func fusesActivation(_ g: ConvolutionGeometry) -> Bool { g.outputChannels >= 4 }

    /// Runs the forward pass on `x` (layout = this plan's input layout).
    func runForward(_ x: DNNLMemory, weightsUnchanged: Bool) {
        source.load(x)
        if !(weightsUnchanged && weightsLoaded) { weightsReorder?.run() }
        weightsLoaded = true
        forward.run()
        separateActivation?.run()
        outputReorder?.run()
    }

    // MARK: Backward, built on first use

    private var gradOutputs: [InputAdapter] = []
    private lazy var activationGrad: (pd: PrimitiveDescriptor, input: DNNLMemory)? = {
        guard let activation else { return nil }
        var md = dstDesc
        var fop = dnnl_eltwise_desc_t()
        DNNL.check(dnnl_eltwise_forward_desc_init(&fop, dnnl_forward_training, activation.forwardAlgorithm, &md, activation.alpha, 0), "eltwise fwd")
        let hint = PrimitiveDescriptor(fop, what: "eltwise fwd (hint)", memoryBound: true)
        var bop = dnnl_eltwise_desc_t()
        DNNL.check(dnnl_eltwise_backward_desc_init(&bop, activation.backwardAlgorithm, &md, &md, activation.alpha, 0), "eltwise bwd")
        return (PrimitiveDescriptor(bop, hint: hint, what: "eltwise bwd (conv)", memoryBound: true), DNNLMemory(desc: dstDesc))
    }()
    private var activationExecutions: [Execution] = []

    /// Gradient w.r.t. the pre-activation output, for a gradient given in layout `given`.
    private var currentGrad: DNNLMemory!
    /// Counts `loadGradOutput` calls, so a converted gradient is made once per load.
    private var gradientGeneration = 0

    /// dL/d(pre-activation) as a primitive wants it: `holder` wraps the f32 gradient in the forward dst
    /// layout; `converted`, when the wanted layout or type differs, receives its reorder.
    final class GradientCopy {
        let holder: DNNLMemory
        let converted: DNNLMemory?
        let reorder: Execution?
        var generation = -1
        var memory: DNNLMemory { converted ?? holder }
        init(holder: DNNLMemory, converted: DNNLMemory?, reorder: Execution?) {
            self.holder = holder; self.converted = converted; self.reorder = reorder
        }
    }
    private var gradientCopies: [(desc: dnnl_memory_desc_t, copy: GradientCopy)] = []

    /// The one GradientCopy for `wanted` (backward data and weights share it when they want the same layout and type).
    private func gradientCopy(_ wanted: dnnl_memory_desc_t) -> GradientCopy {
        if let found = gradientCopies.first(where: { DNNL.equal($0.desc, wanted) }) { return found.copy }
        let holder = DNNLMemory(desc: dstDesc, wrapping: nil)
        let copy: GradientCopy
        if DNNL.equal(wanted, dstDesc) {
            copy = GradientCopy(holder: holder, converted: nil, reorder: nil)
        } else {
            let c = DNNLMemory(desc: wanted)
            copy = GradientCopy(holder: holder, converted: c, reorder: Reorder(from: dstDesc, to: wanted).bind(holder, c))
        }
        gradientCopies.append((wanted, copy))
        return copy
    }

    /// Points `copy` at the current gradient and converts it, once per `loadGradOutput`.
    private func load(_ copy: GradientCopy) {
        guard copy.generation != gradientGeneration else { return }
        copy.holder.point(to: currentGrad.data)
        copy.reorder?.run()
        copy.generation = gradientGeneration
    }

    /// Loads dL/dy (any layout) and turns it into dL/d(pre-activation) in the forward dst layout.
    func loadGradOutput(_ dy: DNNLMemory) {
        var index = gradOutputs.firstIndex { DNNL.equal($0.wrapper.desc, dy.desc) }
        if index == nil {
            let a = InputAdapter(given: dy.desc, wanted: dstDesc)
            gradOutputs.append(a)
            if let ag = activationGrad {
                activationExecutions.append(Execution(ag.pd.makePrimitive(), [
                    (DNNL_ARG_DST, dst), (DNNL_ARG_DIFF_DST, a.memory), (DNNL_ARG_DIFF_SRC, ag.input),
                ]))
            }
            index = gradOutputs.count - 1
        }
        let a = gradOutputs[index!]
        a.load(dy)
        gradientGeneration &+= 1
        if let ag = activationGrad {
            activationExecutions[index!].run()
            currentGrad = ag.input
        } else {
            currentGrad = a.memory
        }
    }

    /// A backward descriptor with diff layouts forced to the forward's; when that lands on oneDNN's
    /// reference kernel (it does for 1-channel sides), one with layouts left to oneDNN.
    /// Types: diff_dst in the operand type; backward data reads weights in it and writes f32 diff_src;
    /// backward weights reads src in it and writes f32 diff_weights and diff_bias.
    private func backwardDescriptor(weights wantWeights: Bool) -> PrimitiveDescriptor {
        let operand = wantWeights ? geometry.weightGradientType : geometry.operandType
        let threads = wantWeights && operand == .bf16 ? DNNL.bf16WeightGradientThreads : nil
        func make(_ srcLayout: dnnl_memory_desc_t, _ dstLayout: dnnl_memory_desc_t) -> PrimitiveDescriptor {
            var s = DNNL.retyped(srcLayout, wantWeights ? operand : .f32), dd = DNNL.retyped(dstLayout, operand)
            let srcMD = s
            var wAny = DNNL.desc([geometry.outputChannels, geometry.inputChannels, geometry.kernelSize, geometry.kernelSize],
                                 dnnl_format_tag_any, type: wantWeights ? .f32 : operand)
            let bias = wantWeights && hasBias ? DNNL.desc([geometry.outputChannels], dnnl_a, type: .f32) : nil
            let alg = geometry.transposed ? dnnl_deconvolution_direct : dnnl_convolution_direct
            let kind = (geometry.transposed ? "deconv" : "conv") + (wantWeights ? " bwd weights" : " bwd data")
            if geometry.transposed {
                var op = dnnl_deconvolution_desc_t()
                if wantWeights {
                    DNNL.check(dnnl_deconvolution_backward_weights_desc_init(&op, alg, &s, &wAny, withOptionalPointer(bias), &dd, strides, padL, padR), kind)
                } else {
                    DNNL.check(dnnl_deconvolution_backward_data_desc_init(&op, alg, &s, &wAny, &dd, strides, padL, padR), kind)
                }
                return PrimitiveDescriptor(op, hint: forwardPD, what: "\(kind) \(DNNL.dims(srcMD))", threads: threads)
            } else {
                var op = dnnl_convolution_desc_t()
                if wantWeights {
                    DNNL.check(dnnl_convolution_backward_weights_desc_init(&op, alg, &s, &wAny, withOptionalPointer(bias), &dd, strides, padL, padR), kind)
                } else {
                    DNNL.check(dnnl_convolution_backward_data_desc_init(&op, alg, &s, &wAny, &dd, strides, padL, padR), kind)
                }
                return PrimitiveDescriptor(op, hint: forwardPD, what: "\(kind) \(DNNL.dims(srcMD))", threads: threads)
            }
        }
        let forced = make(srcDesc, dstDesc)
        // GEMM-based weight gradients on plain layouts are ~50× slower than the blocked JIT kernels.
        let slow = forced.isReference || (wantWeights && forced.implementation.contains("gemm"))
        if !slow { return forced }
        // Backward data onto a 1–3-channel input (D's first layer): on plain layouts it is oneDNN's gemm
        // kernel (1←16 at batch 32: 0.45 ms), where free layouts pad the input side to 16 channels for the
        // JIT kernel (1.9–2.1 ms). The incoming gradient's reorder to plain is the small part.
        if !wantWeights && !geometry.transposed && geometry.inputChannels < 4 {
            let plain = make(DNNL.plainDesc(DNNL.dims(srcDesc), type: .f32), DNNL.plainDesc(DNNL.dims(dstDesc), type: .f32))
            if !plain.isReference { return plain }
        }
        let free = make(DNNL.desc(DNNL.dims(srcDesc), dnnl_format_tag_any, type: .f32),
                        DNNL.desc(DNNL.dims(dstDesc), dnnl_format_tag_any, type: .f32))
        return free.isReference ? forced : free
    }

    private lazy var backwardData: (exec: Execution, weightsReorder: Execution?, diffDst: GradientCopy, gradInput: DNNLMemory, back: Execution?) = {
        let pd = backwardDescriptor(weights: false)
        let wDesc = pd.md(dnnl_query_weights_md)
        let w: DNNLMemory
        var reorder: Execution?
        if DNNL.equal(wDesc, weights.desc) {
            w = weights
        } else if DNNL.equal(wDesc, weightsUser.desc) {
            w = weightsUser
        } else {
            w = DNNLMemory(desc: wDesc)
            reorder = Reorder(from: weightsUser.desc, to: wDesc).bind(weightsUser, w)
        }
        // The incoming gradient is in the forward dst layout (f32); converted if this primitive wants another.
        let diffDst = gradientCopy(pd.md(dnnl_query_diff_dst_md))
        let dsDesc = pd.md(dnnl_query_diff_src_md)
        let gradSource = DNNLMemory(desc: dsDesc)
        let exec = Execution(pd.makePrimitive(), [(DNNL_ARG_DIFF_DST, diffDst.memory), (DNNL_ARG_WEIGHTS, w), (DNNL_ARG_DIFF_SRC, gradSource)])
        // Hand back the gradient in the layout the caller's input had.
        let given = source.wrapper.desc
        var gradInput = gradSource
        var back: Execution?
        if !DNNL.equal(dsDesc, given) {
            gradInput = DNNLMemory(desc: given)
            back = Reorder(from: dsDesc, to: given).bind(gradSource, gradInput)
        }
        return (exec, reorder, diffDst, gradInput, back)
    }()
    private var backwardDataWeightsLoaded = false

    /// dL/dx in the layout the forward input had. Call `loadGradOutput` first.
    func runBackwardData(weightsUnchanged: Bool) -> DNNLMemory {
        let b = backwardData
        load(b.diffDst)
        // When backward data reads the forward's weight layout, the forward already loaded it.
        if !(weightsUnchanged && backwardDataWeightsLoaded) { b.weightsReorder?.run() }
        backwardDataWeightsLoaded = true
        b.exec.run()
        b.back?.run()
        return b.gradInput
    }

    private lazy var backwardWeights: (exec: Execution, gradWeights: DNNLMemory, gradBias: DNNLMemory?, diffDst: GradientCopy, prepare: [Execution]) = {
        let pd = backwardDescriptor(weights: true)
        var prepare: [Execution] = []
        // Source and gradient in the layouts this primitive wants (normally the forward's, so no copies).
        var src = source.memory
        let sDesc = pd.md(dnnl_query_src_md)
        if DNNL.equal(sDesc, source.wrapper.desc) {
            src = source.wrapper  // the caller's input, before the forward's reorder
        } else if !DNNL.equal(sDesc, srcDesc) {
            // From the forward's copy when it has the wanted type, else from the caller's f32 input.
            let from = DNNL.dataType(sDesc) == DNNL.dataType(srcDesc) ? source.memory : source.wrapper
            src = DNNLMemory(desc: sDesc)
            prepare.append(Reorder(from: from.desc, to: sDesc).bind(from, src))
        }
        let diffDst = gradientCopy(pd.md(dnnl_query_diff_dst_md))
        let gw = DNNLMemory(desc: pd.md(dnnl_query_diff_weights_md))
        let gb = hasBias ? DNNLMemory(desc: DNNL.desc([geometry.outputChannels], dnnl_a, type: .f32)) : nil
        var args: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, src), (DNNL_ARG_DIFF_DST, diffDst.memory), (DNNL_ARG_DIFF_WEIGHTS, gw)]
        if let gb { args.append((DNNL_ARG_DIFF_BIAS, gb)) }
        return (Execution(pd.makePrimitive(), args), gw, gb, diffDst, prepare)
    }()
    /// The im2col + matmul weight gradient, for the layers where it beats the direct kernel (nil elsewhere).
    private lazy var gemmWeights: (gemm: GemmWeightGradient, diffDst: GradientCopy)? = {
        guard GemmWeightGradient.applies(geometry, sourceDims: DNNL.dims(srcDesc), hasBias: hasBias) else { return nil }
        let gemm = GemmWeightGradient(geometry: geometry, source: source.memory)
        return (gemm, gradientCopy(gemm.gradientDesc))
    }()
    private var accumulators: [(UnsafeMutablePointer<Float>, Execution)] = []

    /// Adds dL/dW (user layout) into `weightGrad` and dL/db into `biasGrad`. Call `loadGradOutput` first.
    func runBackwardWeights(weightGrad: Tensor, biasGrad: Tensor?) {
        let gradWeights: DNNLMemory
        var gradBias: DNNLMemory?
        if let g = gemmWeights {
            load(g.diffDst)
            g.gemm.run(gradient: g.diffDst.memory)
            gradWeights = g.gemm.gradWeights
        } else {
            let b = backwardWeights
            load(b.diffDst)
            for e in b.prepare { e.run() }
            b.exec.run()
            gradWeights = b.gradWeights
            gradBias = b.gradBias
        }
        let acc: Execution
        if let a = accumulators.first(where: { $0.0 == weightGrad.data }) {
            acc = a.1
        } else {
            let user = DNNLMemory(desc: geometry.userWeightDesc, wrapping: weightGrad.data)
            acc = Reorder(from: gradWeights.desc, to: user.desc, accumulate: true).bind(gradWeights, user)
            accumulators.append((weightGrad.data, acc))
        }
        acc.run()
        if let gb = gradBias, let biasGrad {
            let src = gb.data, dst = biasGrad.data
            for i in 0..<geometry.outputChannels { dst[i] += src[i] }
        }
    }
}

/// A pointer to a copy of `md`, or nil, for C parameters that take an optional descriptor. The copy is
/// never freed: it is a few hundred bytes per primitive descriptor, and those are created once per plan.
func withOptionalPointer(_ md: dnnl_memory_desc_t?) -> UnsafePointer<dnnl_memory_desc_t>? {
    guard let md else { return nil }
    let p = UnsafeMutablePointer<dnnl_memory_desc_t>.allocate(capacity: 1)
    p.initialize(to: md)
    return UnsafePointer(p)
}
