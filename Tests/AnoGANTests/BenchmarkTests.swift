// The speed benchmark on a tiny model: every measurement is there and positive, and the
// scoring rate of each start follows from the measured medians as the doc says.

import AnoGAN
import Foundation
import Records
import XCTest

final class BenchmarkTests: XCTestCase {
    func testTinyBenchmarkReportsEveryStepAndTheScoringRateOfEachStart() throws {
        var settings = BenchmarkSettings()
        settings.config = DCGANConfig(latentDimension: 8, imageSize: 16, width: 2, channels: 1)
        settings.batch = 4
        settings.iterations = 3
        settings.warmup = 1
        let r = Benchmark.run(settings)
        for t in [r.generatorForward, r.discriminatorForward, r.trainingStep, r.mappingStep, r.encoderScore] {
            XCTAssertGreaterThan(t.milliseconds, 0)
            XCTAssertLessThanOrEqual(t.fastestMilliseconds, t.milliseconds)
        }
        let rates = Dictionary(uniqueKeysWithValues: r.scoringRates.map { ($0.key, $0.imagesPerSecond) })
        // By hand: 4 images per (500 mapping steps), per (one encoder pass), per (one pass + 20 steps).
        XCTAssertEqual(rates["prior_500"]!, 4 / (500 * r.mappingStep.milliseconds / 1000), accuracy: 1e-9)
        XCTAssertEqual(rates["encoder_0"]!, 4 / (r.encoderScore.milliseconds / 1000), accuracy: 1e-9)
        XCTAssertEqual(rates["encoder_20"]!, 4 / ((r.encoderScore.milliseconds + 20 * r.mappingStep.milliseconds) / 1000), accuracy: 1e-9)
        let json = try JSONSerialization.jsonObject(with: Data(r.json.utf8)) as! [String: Any]
        for key in ["map_step_ms", "train_step_ms", "encoder_score_ms", "score_prior_500_images_per_s", "score_encoder_0_images_per_s",
                    "score_encoder_20_images_per_s"] {
            XCTAssertNotNil(json[key], key)
        }
        // The peak resident set through each stage: all six there, never falling, the last the JSON's peak.
        XCTAssertEqual(r.peakResidentBytes.map(\.stage), ["setup", "g_forward", "d_forward", "train_step", "map_step", "encoder_score"])
        for (a, b) in zip(r.peakResidentBytes, r.peakResidentBytes.dropFirst()) { XCTAssertLessThanOrEqual(a.bytes, b.bytes, b.stage) }
        for (stage, bytes) in r.peakResidentBytes {
            XCTAssertGreaterThan(bytes, 1_000_000, stage)
            XCTAssertEqual((json["peak_rss_through_\(stage)_mb"] as? Double) ?? -1, Double(bytes) / 1e6, accuracy: 0.051, stage)
        }
        XCTAssertEqual(json["peak_rss_mb"] as? Double, json["peak_rss_through_encoder_score_mb"] as? Double)
    }
}
