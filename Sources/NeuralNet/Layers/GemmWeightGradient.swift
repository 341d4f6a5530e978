// The weight gradient of a bf16 (transposed) convolution as one matrix product: im2col in Swift,
// then oneDNN's bf16 matmul. Used where oneDNN 2.6's direct bf16 weight-gradient kernel is slow:
// the deepest layers, few positions and many channels (D's 256→512 at 4×4 and G's 512→256 from
// 4×4 at full size: 28–29 ms per call against 17 ms for the matmul of the same shape on two threads).
//
// Both kinds pair a "small" tensor S with a "big" tensor B read at S's positions:
//   conv:    dW[o,i,u,v] = Σ_{n,p,q} dY[n,o,p,q] · X[n,i, p·s−pad+u, q·s−pad+v]   (S = dY, B = X)
//   deconv:  dW[c,o,u,v] = Σ_{n,p,q} X[n,c,p,q] · dY[n,o, p·s−pad+u, q·s−pad+v]   (S = X,  B = dY)
// so dW, laid out [C_S, u, v, C_B], is S as a [C_S, N·Hs·Ws] matrix times the columns of B,
// [N·Hs·Ws, (u, v, C_B)], each row gathered from B in NHWC (one run of C_B contiguous values per
// tap, zeros where the tap falls outside B). Operands are bf16 and products accumulate in f32, as
// in oneDNN's direct kernel, so the two agree to f32 rounding of the sums.

import CDNNL
import Records

final class GemmWeightGradient {
    /// dW (f32) laid out [C_S, k, k, C_B], described as the layer's [O, I, k, k] for the accumulating reorder.
    let gradWeights: DNNLMemory
    /// The layout (bf16) the plan must hand dY in: S's matrix for a convolution, B in NHWC for a transposed one.
    let gradientDesc: dnnl_memory_desc_t

    private let geometry: ConvolutionGeometry
    private let sourceCopy: Execution
    private let sourceMemory: DNNLMemory
    private let columns: DNNLMemory
    private let small: (channels: Int, height: Int, width: Int)
    private let big: (channels: Int, height: Int, width: Int)
    private let batch: Int
    /// The matmul, bound on the first run to the plan's gradient copy (a fixed buffer).
    private var product: Execution?

    /// Whether the GEMM formulation wins for this layer (see `DNNL.bf16GemmWeightGradients`).
    static func applies(_ g: ConvolutionGeometry, sourceDims s: [Int], hasBias: Bool) -> Bool {
        guard g.weightGradientType == .bf16, !hasBias else { return false }
        if let forced = DNNL.bf16GemmWeightGradients { return forced }
        // Measured (2 threads, batch 64): the matmul wins where S has ≤ 4×4 positions and ≥ 256 channels;
        // at 8×8 and 128–256 channels the direct kernel is as fast once im2col is paid.
        let smallPositions = g.transposed ? s[2] * s[3] : g.outputSize(s[2]) * g.outputSize(s[3])
        let smallChannels = g.transposed ? g.inputChannels : g.outputChannels
        return smallPositions <= 16 && smallChannels >= 256
    }

    /// `source`: the forward's bf16 copy of x (any layout), read again at every `run`.
    init(geometry g: ConvolutionGeometry, source: DNNLMemory) {
        geometry = g
        let s = source.dims
        let (n, h, w) = (s[0], s[2], s[3])
        let oh = g.outputSize(h), ow = g.outputSize(w)
        batch = n
        let x = (channels: g.inputChannels, height: h, width: w), y = (channels: g.outputChannels, height: oh, width: ow)
        small = g.transposed ? x : y
        big = g.transposed ? y : x
        let smallDims = [n, small.channels, small.height, small.width], bigDims = [n, big.channels, big.height, big.width]
        // S as a [C_S, N·Hs·Ws] row-major matrix: channel outermost, then batch, rows, columns.
        let positions = n * small.height * small.width
        let smallMatrix = DNNL.desc(smallDims, strides: [small.height * small.width, positions, small.width, 1], type: .bf16)
        let bigNHWC = DNNL.desc(bigDims, dnnl_nhwc, type: .bf16)
        gradientDesc = g.transposed ? bigNHWC : smallMatrix
        sourceMemory = DNNLMemory(desc: g.transposed ? smallMatrix : bigNHWC)
        sourceCopy = Reorder(from: source.desc, to: sourceMemory.desc).bind(source, sourceMemory)

        let k = g.kernelSize, row = k * k * big.channels
        columns = DNNLMemory(desc: DNNL.plainDesc([positions, row], type: .bf16))
        // [C_S, (u, v, C_B)] as [O, I, k, k]: C_S is O for a convolution and I for a transposed one.
        let strides = g.transposed ? [1, row, k * big.channels, big.channels] : [row, 1, k * big.channels, big.channels]
        gradWeights = DNNLMemory(desc: DNNL.desc([g.outputChannels, g.inputChannels, k, k], strides: strides, type: .f32))
    }

    /// Writes dW into `gradWeights` from the forward's x and dY (in `gradientDesc`).
    func run(gradient: DNNLMemory) {
        sourceCopy.run()
        let smallMemory = geometry.transposed ? sourceMemory : gradient
        let bigMemory = geometry.transposed ? gradient : sourceMemory
        im2col(from: bigMemory.rawData.assumingMemoryBound(to: UInt16.self))
        if product == nil { product = makeProduct(reading: smallMemory) }
        product!.run()
    }

    /// The matmul S·columns → gradWeights, reading S from `matrix`'s buffer (bound once, so it must be owned).
    private func makeProduct(reading matrix: DNNLMemory) -> Execution {
        precondition(matrix.storage != nil, "the product binds S's buffer once, so S must own it")
        let pointer = matrix.rawData
        let positions = batch * small.height * small.width, row = columns.dims[1]
        var a = DNNL.plainDesc([small.channels, positions], type: .bf16)
        var b = columns.desc
        var c = DNNL.plainDesc([small.channels, row], type: .f32)
        var op = dnnl_matmul_desc_t()
        DNNL.check(dnnl_matmul_desc_init(&op, &a, &b, nil, &c), "matmul desc")
        let pd = PrimitiveDescriptor(op, what: "gemm weight gradient [\(small.channels)×\(positions)]·[\(positions)×\(row)]",
                                     threads: DNNL.bf16WeightGradientThreads)
        let lhs = DNNLMemory(desc: a, wrappingRaw: pointer)
        let out = DNNLMemory(desc: c, wrappingRaw: gradWeights.rawData)
        return Execution(pd.makePrimitive(), [(DNNL_ARG_SRC, lhs), (DNNL_ARG_WEIGHTS, columns), (DNNL_ARG_DST, out)])
    }

    /// columns[(n, p, q), (u, v, c)] = B[n, c, p·s − pad + u, q·s − pad + v] (0 outside B), from B in NHWC.
    private func im2col(from b: UnsafeMutablePointer<UInt16>) {
        let g = geometry, k = g.kernelSize, c = big.channels, row = k * k * c
        let out = columns.rawData.assumingMemoryBound(to: UInt16.self)
        var r = 0
        for n in 0..<batch {
            let image = b + n * big.height * big.width * c
            for p in 0..<small.height {
                for q in 0..<small.width {
                    let rowStart = out + r * row
                    for u in 0..<k {
                        let yy = p * g.stride - g.padding + u
                        for v in 0..<k {
                            let xx = q * g.stride - g.padding + v
                            let dst = rowStart + (u * k + v) * c
                            if yy < 0 || yy >= big.height || xx < 0 || xx >= big.width {
                                dst.update(repeating: 0, count: c)
                            } else {
                                dst.update(from: image + (yy * big.width + xx) * c, count: c)
                            }
                        }
                    }
                    r += 1
                }
            }
        }
    }
}
