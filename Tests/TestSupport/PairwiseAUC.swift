// The AUC by its definition, the oracle the ROC, bootstrap, pixel-AUROC and
// report tests compare with.

/// Over all (anomalous, normal) pairs, 1 if the anomalous ranks higher, ½ on a tie. O(n²).
public func pairwiseAUC(_ scores: [Double], _ labels: [Bool]) -> Double {
    var sum = 0.0, pairs = 0.0
    for i in scores.indices where labels[i] {
        for j in scores.indices where !labels[j] {
            sum += scores[i] > scores[j] ? 1 : (scores[i] == scores[j] ? 0.5 : 0)
            pairs += 1
        }
    }
    return sum / pairs
}
