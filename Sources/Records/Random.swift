// Seeded random numbers. Every entry point of anogan takes a seed; nothing
// draws from a global generator, so a run is reproducible from its seed.

/// xoshiro256** seeded through SplitMix64: fast, small state, good quality.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// A generator for one named stream of `seed`, e.g. the z₁ of the image with id
    /// `stream`: seeded by the FNV-1a hash of the seed's 8 little-endian bytes followed
    /// by the stream's UTF-8 bytes. Stable across processes and platforms (Swift's
    /// Hasher is randomised per process), so an image draws the same numbers whatever
    /// else is drawn, in whatever order.
    public init(seed: UInt64, stream: String) {
        var bytes = withUnsafeBytes(of: seed.littleEndian) { Array($0) }
        bytes += Array(stream.utf8)
        self.init(seed: StableHash.fnv1a64(bytes))
    }

    /// The generator's full state, so training can be resumed exactly.
    public var state: [UInt64] {
        get { [s.0, s.1, s.2, s.3] }
        set { precondition(newValue.count == 4); s = (newValue[0], newValue[1], newValue[2], newValue[3]) }
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Float = 0, _ high: Float = 1) -> Float {
        // 24 random mantissa bits give every representable step in [0, 1).
        let unit = Float(next() >> 40) * (1.0 / 16_777_216.0)
        return low + (high - low) * unit
    }

    /// Normal with the given mean and standard deviation (Box–Muller, in Double).
    public mutating func normal(mean: Float = 0, std: Float = 1) -> Float {
        let u1 = (Double(next() >> 11) + 1) * (1.0 / 9_007_199_254_740_993.0)  // (0, 1]
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let r = (-2 * log(u1)).squareRoot()
        return mean + std * Float(r * cos(2 * Double.pi * u2))
    }

    /// An index in 0..<n.
    public mutating func index(below n: Int) -> Int { Int.random(in: 0..<n, using: &self) }
}

/// Hashes that are the same in every process, for seeds derived from names.
public enum StableHash {
    /// 64-bit FNV-1a (Fowler–Noll–Vo): offset basis 0xcbf29ce484222325, prime 0x100000001b3.
    public static func fnv1a64<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    /// A tensor of values uniform in [low, high).
    public static func uniform(shape: [Int], low: Float, high: Float, using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t.data[i] = rng.uniform(low, high) }
        return t
    }

    /// A tensor of normally distributed values.
    public static func normal(shape: [Int], mean: Float = 0, std: Float = 1, using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t.data[i] = rng.normal(mean: mean, std: std) }
        return t
    }
}
