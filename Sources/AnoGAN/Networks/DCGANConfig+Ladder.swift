// The DCGAN channel ladder, in one place: D (and the aCAE encoder) climb it,
// G descends it (paper: width 64 gives 64-128-256-512).

extension DCGANConfig {
    /// Output channels of D's four convolutions: w, 2w, 4w, 8w. G's hidden layers are the same, reversed
    /// (8w after the projection, then 4w, 2w, w before the image).
    public var ladder: [Int] { [1, 2, 4, 8].map { $0 * width } }
}
