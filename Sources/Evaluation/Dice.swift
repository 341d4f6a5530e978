// Dice's coefficient of a thresholded anomaly map against annotation masks
// (pixel-level segmentation quality at one cut-off, beside the pixel AUROC).

import Foundation

/// Overlap of a binary prediction with a binary truth.
public enum Dice {
    /// 2|P ∩ T| / (|P| + |T|) over the pixels where `inside` (when given) holds; nil when both are empty.
    public static func coefficient(predicted: [Bool], truth: [Bool], inside: [Bool]? = nil) -> Double? {
        precondition(predicted.count == truth.count && (inside == nil || inside!.count == truth.count), "Dice of arrays of different sizes")
        var both = 0, p = 0, t = 0
        for i in predicted.indices where inside?[i] ?? true {
            if predicted[i] { p += 1 }
            if truth[i] { t += 1 }
            if predicted[i] && truth[i] { both += 1 }
        }
        return p + t == 0 ? nil : 2 * Double(both) / Double(p + t)
    }
}
