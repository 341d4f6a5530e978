// The phantom the OCT preprocessing tests (Resampling, Flattening, PatchExtraction,
// OCTPreprocessing) cut their B-scans from, written once.

import Imaging

extension OCTPhantomSettings {
    /// Phantom B-scan at half resolution (quick in debug), 22 µm resampling is a no-op on 23.4 µm columns → use 11.7.
    static let halfResolution = OCTPhantomSettings(width: 256, height: 248, bscans: 5, spacingX: 3000.0 / 256, spacingZ: 7.74, spacingY: 300, diseased: true)
}
