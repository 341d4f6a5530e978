// Linear (fully connected) layer on oneDNN's inner-product primitive, with
// the plain-Swift reference beside it. The input may be N×F or N×C×H×W in
// any layout (it is flattened in NCHW order, like PyTorch's view(N, -1)), so
// a classifier can read blocked feature maps without a reorder.

import Records
import CDNNL

/// y = x·Wᵀ + b. Weight `[outputFeatures, inputFeatures]` (PyTorch), bias `[outputFeatures]`.
public final class Linear {
    public let inputFeatures: Int, outputFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?
    public let weightGradient: Tensor?, biasGradient: Tensor?

    public init(inputFeatures: Int, outputFeatures: Int, weight: Tensor, bias: Tensor? = nil,
                weightGradient: Tensor? = nil, biasGradient: Tensor? = nil) {
        precondition(weight.shape == [outputFeatures, inputFeatures], "Linear weight shape \(weight.shape)")
        precondition(bias == nil || bias!.shape == [outputFeatures], "Linear bias shape")
        precondition(weightGradient == nil || weightGradient!.shape == weight.shape, "Linear weight gradient shape")
        self.inputFeatures = inputFeatures; self.outputFeatures = outputFeatures
        self.weight = weight; self.bias = bias; self.weightGradient = weightGradient; self.biasGradient = biasGradient
    }

    final class Plan {
        let input: DNNLMemory
        let output: DNNLMemory
        let userWeightDesc: dnnl_memory_desc_t
        let weightsUser: DNNLMemory
        let weights: DNNLMemory
        let weightsReorder: Execution?
        let forward: Execution
        let forwardPD: PrimitiveDescriptor
        var weightsLoaded = false
        let small: Bool
        let srcDesc: dnnl_memory_desc_t, dstDesc: dnnl_memory_desc_t
        var gradOutputs: [InputAdapter] = []
        var backwardData: (exec: Execution, holder: DNNLMemory, weightsReorder: Execution?)?
        var backwardWeights: (exec: Execution, holder: DNNLMemory, gradWeights: DNNLMemory, gradBias: DNNLMemory?, accumulate: Execution?)?
        let gradInput: DNNLMemory

        init(layer: Linear, desc: dnnl_memory_desc_t) {
            let d = DNNL.dims(desc)
            precondition(d.count >= 2 && d.dropFirst().reduce(1, *) == layer.inputFeatures,
                         "Linear expects N×\(layer.inputFeatures) (or N×C×H×W with that many features), got \(d)")
            srcDesc = desc
            // User weights seen with the input's item dimensions: [O, F] is byte-identical to [O, C, H, W].
            let wDims = [layer.outputFeatures] + Array(d.dropFirst())
            userWeightDesc = DNNL.desc(wDims, DNNL.plainTag(rank: wDims.count), type: .f32)
            var s = desc
            var wAny = DNNL.desc(wDims, dnnl_format_tag_any, type: .f32)
            var dd = DNNL.desc([d[0], layer.outputFeatures], dnnl_ab, type: .f32)
            dstDesc = dd
            let bDesc = layer.bias == nil ? nil : DNNL.desc([layer.outputFeatures], dnnl_a, type: .f32)
            var op = dnnl_inner_product_desc_t()
            DNNL.check(dnnl_inner_product_forward_desc_init(&op, dnnl_forward_training, &s, &wAny, withOptionalPointer(bDesc), &dd), "ip fwd")
            // A layer this small (D's 8192→1 classifier) is bandwidth-bound: one thread, like BatchNorm.
            small = d[0] * layer.inputFeatures * layer.outputFeatures < 1 << 22
            forwardPD = PrimitiveDescriptor(op, what: "inner product fwd \(d)→\(layer.outputFeatures)", memoryBound: small)
            input = DNNLMemory(desc: desc, wrapping: nil)
            output = DNNLMemory(desc: dstDesc)
            weightsUser = DNNLMemory(desc: userWeightDesc, wrapping: layer.weight.data)
            let wDesc = forwardPD.md(dnnl_query_weights_md)
            if DNNL.equal(wDesc, userWeightDesc) {
                weights = weightsUser; weightsReorder = nil
            } else {
                weights = DNNLMemory(desc: wDesc)
                weightsReorder = Reorder(from: userWeightDesc, to: wDesc).bind(weightsUser, weights)
            }
            var args: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, input), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DST, output)]
            if let b = layer.bias, let bDesc { args.append((DNNL_ARG_BIAS, DNNLMemory(desc: bDesc, wrapping: b.data))) }
            forward = Execution(forwardPD.makePrimitive(), args)
            gradInput = DNNLMemory(desc: desc)
        }
    }

    private let plans = PlanCache<Plan>()
    private var last: Plan?

    /// y (N×outputFeatures, plain) for x (N×F or N×C×H×W, any layout). The memory is reused by the next forward.
    public func forward(_ x: DNNLMemory, weightsUnchanged: Bool = false) -> DNNLMemory {
        let p = plans.plan(for: x.desc) { Plan(layer: self, desc: x.desc) }
        p.input.point(to: x.data)
        if !(weightsUnchanged && p.weightsLoaded) { p.weightsReorder?.run() }
        p.weightsLoaded = true
        p.forward.run()
        last = p
        return p.output
    }

    /// dL/dx (in x's layout) when `inputGradient`; adds dL/dW, dL/db when `weightGradients`.
    @discardableResult
    public func backward(_ gradOutput: DNNLMemory, weightGradients: Bool, inputGradient: Bool = true,
                         weightsUnchanged: Bool = false) -> DNNLMemory? {
        guard let p = last else { preconditionFailure("Linear.backward before forward") }
        var adapter = p.gradOutputs.first { DNNL.equal($0.wrapper.desc, gradOutput.desc) }
        if adapter == nil {
            adapter = InputAdapter(given: gradOutput.desc, wanted: p.dstDesc)
            p.gradOutputs.append(adapter!)
        }
        adapter!.load(gradOutput)
        let dy = adapter!.memory
        if weightGradients {
            guard let wg = weightGradient else { preconditionFailure("Linear has no gradient buffers") }
            if p.backwardWeights == nil {
                var s = p.srcDesc, dd = p.dstDesc
                var wAny = DNNL.desc(DNNL.dims(p.userWeightDesc), dnnl_format_tag_any, type: DNNL.dataType(p.userWeightDesc))
                let bDesc = bias == nil ? nil : DNNL.desc([outputFeatures], dnnl_a, type: .f32)
                var op = dnnl_inner_product_desc_t()
                DNNL.check(dnnl_inner_product_backward_weights_desc_init(&op, &s, &wAny, withOptionalPointer(bDesc), &dd), "ip bwd weights")
                let pd = PrimitiveDescriptor(op, hint: p.forwardPD, what: "inner product bwd weights", memoryBound: p.small)
                let gw = DNNLMemory(desc: pd.md(dnnl_query_diff_weights_md))
                let gb = bDesc.map { DNNLMemory(desc: $0) }
                let holder = DNNLMemory(desc: p.dstDesc, wrapping: nil)
                var args: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, p.input), (DNNL_ARG_DIFF_DST, holder), (DNNL_ARG_DIFF_WEIGHTS, gw)]
                if let gb { args.append((DNNL_ARG_DIFF_BIAS, gb)) }
                let user = DNNLMemory(desc: p.userWeightDesc, wrapping: wg.data)
                let acc = Reorder(from: gw.desc, to: user.desc, accumulate: true).bind(gw, user)
                p.backwardWeights = (Execution(pd.makePrimitive(), args), holder, gw, gb, acc)
            }
            let b = p.backwardWeights!
            b.holder.point(to: dy.data)
            b.exec.run()
            b.accumulate?.run()
            if let gb = b.gradBias, let bg = biasGradient {
                for i in 0..<outputFeatures { bg.data[i] += gb.data[i] }
            }
        }
        guard inputGradient else { return nil }
        if p.backwardData == nil {
            var ds = p.srcDesc, dd = p.dstDesc
            var wAny = DNNL.desc(DNNL.dims(p.userWeightDesc), dnnl_format_tag_any, type: DNNL.dataType(p.userWeightDesc))
            var op = dnnl_inner_product_desc_t()
            DNNL.check(dnnl_inner_product_backward_data_desc_init(&op, &ds, &wAny, &dd), "ip bwd data")
            let pd = PrimitiveDescriptor(op, hint: p.forwardPD, what: "inner product bwd data", memoryBound: p.small)
            let wDesc = pd.md(dnnl_query_weights_md)
            var w = p.weights
            var reorder: Execution?
            if !DNNL.equal(wDesc, p.weights.desc) {
                if DNNL.equal(wDesc, p.userWeightDesc) { w = p.weightsUser } else {
                    w = DNNLMemory(desc: wDesc)
                    reorder = Reorder(from: p.userWeightDesc, to: wDesc).bind(p.weightsUser, w)
                }
            }
            let holder = DNNLMemory(desc: p.dstDesc, wrapping: nil)
            p.backwardData = (Execution(pd.makePrimitive(), [(DNNL_ARG_DIFF_DST, holder), (DNNL_ARG_WEIGHTS, w), (DNNL_ARG_DIFF_SRC, p.gradInput)]), holder, reorder)
            p.backwardData!.weightsReorder?.run()
        } else if !weightsUnchanged {
            p.backwardData!.weightsReorder?.run()
        }
        let b = p.backwardData!
        b.holder.point(to: dy.data)
        b.exec.run()
        return p.gradInput
    }

    private var lastInput: Tensor?
    /// Plain-tensor forward (allocates; for tests and one-off use).
    public func forward(_ x: Tensor) -> Tensor { lastInput = x; return forward(DNNLMemory(plain: x)).plainCopy() }
    /// Plain-tensor backward of the last plain forward; dL/dx has x's shape.
    public func backward(_ gradOutput: Tensor, weightGradients: Bool) -> Tensor {
        let g = backward(DNNLMemory(plain: gradOutput), weightGradients: weightGradients)!.plainCopy()
        return lastInput.map { g.reshaped($0.shape) } ?? g
    }

    // MARK: Reference (plain loops, Double)

    /// Reference forward: x N×F, w O×F, b O → N×O.
    public static func referenceForward(x: [Double], batch n: Int, weight w: [Double], bias b: [Double]?, outputFeatures o: Int) -> [Double] {
        let f = x.count / n
        var y = [Double](repeating: 0, count: n * o)
        for i in 0..<n { for j in 0..<o {
            var acc = b?[j] ?? 0
            for k in 0..<f { acc += x[i * f + k] * w[j * f + k] }
            y[i * o + j] = acc
        } }
        return y
    }

    /// Reference backward: (dL/dx, dL/dW, dL/db) for dL/dy N×O.
    public static func referenceBackward(x: [Double], batch n: Int, weight w: [Double], gradOutput dy: [Double], outputFeatures o: Int)
        -> (dx: [Double], dw: [Double], db: [Double]) {
        let f = x.count / n
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count), db = [Double](repeating: 0, count: o)
        for i in 0..<n { for j in 0..<o {
            let g = dy[i * o + j]
            db[j] += g
            for k in 0..<f { dx[i * f + k] += g * w[j * f + k]; dw[j * f + k] += g * x[i * f + k] }
        } }
        return (dx, dw, db)
    }
}
