// Conv2d and ConvTranspose2d (PyTorch semantics), oneDNN-backed, each with a
// plain-Swift reference (simple loops in Double) beside it.

import Records
import CDNNL

/// A 2-D convolution, square kernel: y[n,o] = b[o] + Σ_i W[o,i] ⋆ x[n,i].
///
/// Weights are PyTorch's OIHW `[outputChannels, inputChannels, k, k]`, bias `[outputChannels]`,
/// both views owned by the caller (usually into a ParameterSet). Output size
/// ⌊(H + 2·padding − k) / stride⌋ + 1. An optional activation is fused into the forward pass.
/// Layouts are oneDNN's choice; the gradient w.r.t. the input comes back in the layout the input had.
public final class Conv2d {
    public let inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int, padding: Int
    public let weight: Tensor
    public let bias: Tensor?
    /// Where weight gradients accumulate (views into the ParameterSet's gradients); nil: cannot train.
    public let weightGradient: Tensor?
    public let biasGradient: Tensor?
    public let activation: ActivationKind?
    /// Precision of the primitive's operands (bf16: input, weights and incoming gradient as bf16 copies; results f32).
    public let precision: Precision
    let geometry: ConvolutionGeometry
    private let runner: ConvolutionRunner

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                weight: Tensor, bias: Tensor? = nil, weightGradient: Tensor? = nil, biasGradient: Tensor? = nil,
                activation: ActivationKind? = nil, precision: Precision = .default) {
        precondition(weight.shape == [outputChannels, inputChannels, kernelSize, kernelSize], "Conv2d weight shape \(weight.shape)")
        precondition(bias == nil || bias!.shape == [outputChannels], "Conv2d bias shape")
        precondition(weightGradient == nil || weightGradient!.shape == weight.shape, "Conv2d weight gradient shape")
        precondition((bias == nil) == (biasGradient == nil) || weightGradient == nil, "Conv2d bias gradient missing")
        self.inputChannels = inputChannels; self.outputChannels = outputChannels
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        self.weight = weight; self.bias = bias; self.weightGradient = weightGradient; self.biasGradient = biasGradient
        self.activation = activation
        self.precision = precision
        geometry = ConvolutionGeometry(transposed: false, inputChannels: inputChannels, outputChannels: outputChannels,
                                       kernelSize: kernelSize, stride: stride, padding: padding, outputPadding: 0,
                                       operandType: precision.operandType, weightGradientType: precision.weightGradientOperandType)
        runner = ConvolutionRunner(name: "Conv2d", geometry: geometry, activation: activation, weight: weight, bias: bias,
                                   weightGradient: weightGradient, biasGradient: biasGradient)
    }

    /// y = act(conv(x) + b). `x` is N×C×H×W in any layout; the result's layout is oneDNN's choice
    /// and the memory is reused by the next forward with the same input layout.
    /// `weightsUnchanged`: the weights have not changed since the last call (skips re-laying them out).
    public func forward(_ x: DNNLMemory, weightsUnchanged: Bool = false) -> DNNLMemory {
        runner.forward(x, weightsUnchanged: weightsUnchanged)
    }

    /// Backward of the last forward. Returns dL/dx (in x's layout) when `inputGradient`;
    /// adds dL/dW, dL/db into the gradient views when `weightGradients`.
    @discardableResult
    public func backward(_ gradOutput: DNNLMemory, weightGradients: Bool, inputGradient: Bool = true,
                         weightsUnchanged: Bool = false) -> DNNLMemory? {
        runner.backward(gradOutput, weightGradients: weightGradients, inputGradient: inputGradient, weightsUnchanged: weightsUnchanged)
    }

    /// Plain-tensor forward (allocates; for tests and one-off use).
    public func forward(_ x: Tensor) -> Tensor { runner.forward(x) }
    /// Plain-tensor backward of the last plain forward.
    public func backward(_ gradOutput: Tensor, weightGradients: Bool) -> Tensor { runner.backward(gradOutput, weightGradients: weightGradients) }

    // MARK: Reference (plain loops, Double)

    /// Reference forward without activation. x: N×I×H×W, w: O×I×k×k, b: O → N×O×OH×OW.
    public static func referenceForward(x: [Double], shape s: [Int], weight w: [Double], bias b: [Double]?,
                                        outputChannels oc: Int, kernelSize k: Int, stride: Int, padding p: Int) -> (y: [Double], shape: [Int]) {
        let (n, ic, h, wd) = (s[0], s[1], s[2], s[3])
        let oh = (h + 2 * p - k) / stride + 1, ow = (wd + 2 * p - k) / stride + 1
        var y = [Double](repeating: 0, count: n * oc * oh * ow)
        for b0 in 0..<n { for o in 0..<oc { for i in 0..<oh { for j in 0..<ow {
            var acc = b?[o] ?? 0
            for c in 0..<ic { for u in 0..<k { for v in 0..<k {
                let yy = i * stride - p + u, xx = j * stride - p + v
                if yy < 0 || yy >= h || xx < 0 || xx >= wd { continue }
                acc += x[((b0 * ic + c) * h + yy) * wd + xx] * w[((o * ic + c) * k + u) * k + v]
            } } }
            y[((b0 * oc + o) * oh + i) * ow + j] = acc
        } } } }
        return (y, [n, oc, oh, ow])
    }

    /// Reference backward: (dL/dx, dL/dW, dL/db) for dL/dy `dy` of shape N×O×OH×OW.
    public static func referenceBackward(x: [Double], shape s: [Int], weight w: [Double], gradOutput dy: [Double],
                                         outputChannels oc: Int, kernelSize k: Int, stride: Int, padding p: Int) -> (dx: [Double], dw: [Double], db: [Double]) {
        let (n, ic, h, wd) = (s[0], s[1], s[2], s[3])
        let oh = (h + 2 * p - k) / stride + 1, ow = (wd + 2 * p - k) / stride + 1
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count), db = [Double](repeating: 0, count: oc)
        for b0 in 0..<n { for o in 0..<oc { for i in 0..<oh { for j in 0..<ow {
            let g = dy[((b0 * oc + o) * oh + i) * ow + j]
            db[o] += g
            for c in 0..<ic { for u in 0..<k { for v in 0..<k {
                let yy = i * stride - p + u, xx = j * stride - p + v
                if yy < 0 || yy >= h || xx < 0 || xx >= wd { continue }
                let xi = ((b0 * ic + c) * h + yy) * wd + xx, wi = ((o * ic + c) * k + u) * k + v
                dx[xi] += g * w[wi]
                dw[wi] += g * x[xi]
            } } }
        } } } }
        return (dx, dw, db)
    }
}

/// A 2-D transposed ("fractionally strided") convolution, PyTorch's ConvTranspose2d.
///
/// Weights are PyTorch's IOHW `[inputChannels, outputChannels, k, k]`, bias `[outputChannels]`.
/// Output size (H − 1)·stride − 2·padding + k + outputPadding. With `plainOutput` the output is handed back in plain NCHW.
public final class ConvTranspose2d {
    public let inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int, padding: Int, outputPadding: Int
    public let weight: Tensor
    public let bias: Tensor?
    public let weightGradient: Tensor?
    public let biasGradient: Tensor?
    public let activation: ActivationKind?
    /// Precision of the primitive's operands (bf16: input, weights and incoming gradient as bf16 copies; results f32).
    public let precision: Precision
    let geometry: ConvolutionGeometry
    private let runner: ConvolutionRunner

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0,
                weight: Tensor, bias: Tensor? = nil, weightGradient: Tensor? = nil, biasGradient: Tensor? = nil,
                activation: ActivationKind? = nil, plainOutput: Bool = false, precision: Precision = .default) {
        precondition(weight.shape == [inputChannels, outputChannels, kernelSize, kernelSize], "ConvTranspose2d weight shape \(weight.shape)")
        precondition(bias == nil || bias!.shape == [outputChannels], "ConvTranspose2d bias shape")
        precondition(weightGradient == nil || weightGradient!.shape == weight.shape, "ConvTranspose2d weight gradient shape")
        precondition(outputPadding < stride, "output padding must be smaller than the stride")
        self.inputChannels = inputChannels; self.outputChannels = outputChannels
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding; self.outputPadding = outputPadding
        self.weight = weight; self.bias = bias; self.weightGradient = weightGradient; self.biasGradient = biasGradient
        self.activation = activation
        self.precision = precision
        geometry = ConvolutionGeometry(transposed: true, inputChannels: inputChannels, outputChannels: outputChannels,
                                       kernelSize: kernelSize, stride: stride, padding: padding, outputPadding: outputPadding,
                                       operandType: precision.operandType, weightGradientType: precision.weightGradientOperandType,
                                       plainOutput: plainOutput)
        runner = ConvolutionRunner(name: "ConvTranspose2d", geometry: geometry, activation: activation, weight: weight, bias: bias,
                                   weightGradient: weightGradient, biasGradient: biasGradient)
    }

    /// y = act(convᵀ(x) + b). `x` is N×C×H×W in any layout; the result's layout is oneDNN's choice
    /// and the memory is reused by the next forward with the same input layout.
    /// `weightsUnchanged`: the weights have not changed since the last call (skips re-laying them out).
    public func forward(_ x: DNNLMemory, weightsUnchanged: Bool = false) -> DNNLMemory {
        runner.forward(x, weightsUnchanged: weightsUnchanged)
    }

    /// Backward of the last forward. Returns dL/dx (in x's layout) when `inputGradient`;
    /// adds dL/dW, dL/db into the gradient views when `weightGradients`.
    @discardableResult
    public func backward(_ gradOutput: DNNLMemory, weightGradients: Bool, inputGradient: Bool = true,
                         weightsUnchanged: Bool = false) -> DNNLMemory? {
        runner.backward(gradOutput, weightGradients: weightGradients, inputGradient: inputGradient, weightsUnchanged: weightsUnchanged)
    }

    /// Plain-tensor forward (allocates; for tests and one-off use).
    public func forward(_ x: Tensor) -> Tensor { runner.forward(x) }
    /// Plain-tensor backward of the last plain forward.
    public func backward(_ gradOutput: Tensor, weightGradients: Bool) -> Tensor { runner.backward(gradOutput, weightGradients: weightGradients) }

    // MARK: Reference (plain loops, Double)

    /// Reference forward without activation. x: N×I×H×W, w: I×O×k×k → N×O×OH×OW;
    /// input pixel (i, j) scatters into output (i·stride − padding + u, j·stride − padding + v).
    public static func referenceForward(x: [Double], shape s: [Int], weight w: [Double], bias b: [Double]?, outputChannels oc: Int,
                                        kernelSize k: Int, stride: Int, padding p: Int, outputPadding op: Int) -> (y: [Double], shape: [Int]) {
        let (n, ic, h, wd) = (s[0], s[1], s[2], s[3])
        let oh = (h - 1) * stride - 2 * p + k + op, ow = (wd - 1) * stride - 2 * p + k + op
        var y = [Double](repeating: 0, count: n * oc * oh * ow)
        for b0 in 0..<n { for o in 0..<oc { for i in 0..<oh { for j in 0..<ow { y[((b0 * oc + o) * oh + i) * ow + j] = b?[o] ?? 0 } } } }
        for b0 in 0..<n { for c in 0..<ic { for i in 0..<h { for j in 0..<wd {
            let xv = x[((b0 * ic + c) * h + i) * wd + j]
            for o in 0..<oc { for u in 0..<k { for v in 0..<k {
                let yy = i * stride - p + u, xx = j * stride - p + v
                if yy < 0 || yy >= oh || xx < 0 || xx >= ow { continue }
                y[((b0 * oc + o) * oh + yy) * ow + xx] += xv * w[((c * oc + o) * k + u) * k + v]
            } } }
        } } } }
        return (y, [n, oc, oh, ow])
    }

    /// Reference backward: (dL/dx, dL/dW, dL/db).
    public static func referenceBackward(x: [Double], shape s: [Int], weight w: [Double], gradOutput dy: [Double], outputChannels oc: Int,
                                         kernelSize k: Int, stride: Int, padding p: Int, outputPadding op: Int) -> (dx: [Double], dw: [Double], db: [Double]) {
        let (n, ic, h, wd) = (s[0], s[1], s[2], s[3])
        let oh = (h - 1) * stride - 2 * p + k + op, ow = (wd - 1) * stride - 2 * p + k + op
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count), db = [Double](repeating: 0, count: oc)
        for b0 in 0..<n { for o in 0..<oc { for i in 0..<oh { for j in 0..<ow { db[o] += dy[((b0 * oc + o) * oh + i) * ow + j] } } } }
        for b0 in 0..<n { for c in 0..<ic { for i in 0..<h { for j in 0..<wd {
            let xi = ((b0 * ic + c) * h + i) * wd + j
            for o in 0..<oc { for u in 0..<k { for v in 0..<k {
                let yy = i * stride - p + u, xx = j * stride - p + v
                if yy < 0 || yy >= oh || xx < 0 || xx >= ow { continue }
                let g = dy[((b0 * oc + o) * oh + yy) * ow + xx], wi = ((c * oc + o) * k + u) * k + v
                dx[xi] += g * w[wi]
                dw[wi] += g * x[xi]
            } } }
        } } } }
        return (dx, dw, db)
    }
}

/// What Conv2d and ConvTranspose2d share at run time: one bound plan per input
/// layout, the last plan (which backward runs against) and the gradient views.
final class ConvolutionRunner {
    private let name: String
    private let geometry: ConvolutionGeometry
    private let activation: ActivationKind?
    private let weight: Tensor, bias: Tensor?
    private let weightGradient: Tensor?, biasGradient: Tensor?
    private let plans = PlanCache<ConvolutionPlan>()
    private var last: ConvolutionPlan?
    /// The plain input of the last plain forward: its memory is wrapped, not copied, so it must outlive backward.
    private var lastInput: Tensor?

    init(name: String, geometry: ConvolutionGeometry, activation: ActivationKind?, weight: Tensor, bias: Tensor?,
         weightGradient: Tensor?, biasGradient: Tensor?) {
        self.name = name; self.geometry = geometry; self.activation = activation
        self.weight = weight; self.bias = bias; self.weightGradient = weightGradient; self.biasGradient = biasGradient
    }

    func forward(_ x: DNNLMemory, weightsUnchanged: Bool) -> DNNLMemory {
        let p = plans.plan(for: x.desc) { ConvolutionPlan(geometry: geometry, activation: activation, input: x.desc, weight: weight, bias: bias) }
        p.runForward(x, weightsUnchanged: weightsUnchanged)
        last = p
        return p.output
    }

    func backward(_ gradOutput: DNNLMemory, weightGradients: Bool, inputGradient: Bool, weightsUnchanged: Bool) -> DNNLMemory? {
        guard let p = last else { preconditionFailure("\(name).backward before forward") }
        p.loadGradOutput(gradOutput)
        if weightGradients {
            guard let wg = weightGradient else { preconditionFailure("\(name) has no gradient buffers") }
            p.runBackwardWeights(weightGrad: wg, biasGrad: biasGradient)
        }
        return inputGradient ? p.runBackwardData(weightsUnchanged: weightsUnchanged) : nil
    }

    func forward(_ x: Tensor) -> Tensor {
        lastInput = x
        return forward(DNNLMemory(plain: x), weightsUnchanged: false).plainCopy()
    }

    func backward(_ gradOutput: Tensor, weightGradients: Bool) -> Tensor {
        backward(DNNLMemory(plain: gradOutput), weightGradients: weightGradients, inputGradient: true, weightsUnchanged: false)!.plainCopy()
    }
}
