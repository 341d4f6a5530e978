// Settings files: JSON and YAML laid over the defaults, unknown keys and wrong
// types refused with the file and the key path; expected values written by hand.

import AnoGAN
import Foundation
import Records
import TestSupport
@testable import Workflows
import XCTest

private struct Sections: Codable, Equatable {
    var architecture = DCGANConfig.paper
    var training = TrainingSettings()
}

final class SettingsFileTests: TemporaryDirectoryTestCase {
    func file(_ name: String, _ text: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func testJSONAndYAMLGiveTheSameSettingsAndKeepEveryOtherDefault() throws {
        let json = try SettingsFile.load(try file("a.json", #"{"training": {"epochs": 3, "adam": {"beta1": 0.9}}, "architecture": {"width": 8}}"#),
                                         over: Sections())
        let yaml = try SettingsFile.load(try file("a.yaml", "training:\n  epochs: 3\n  adam:\n    beta1: 0.9\narchitecture:\n  width: 8\n"),
                                         over: Sections())
        var expected = Sections()
        expected.training.epochs = 3
        expected.training.adam.beta1 = 0.9
        expected.architecture.width = 8
        XCTAssertEqual(json.value, expected)
        XCTAssertEqual(yaml.value, expected)
        XCTAssertEqual(json.keys, ["training", "training.epochs", "training.adam", "training.adam.beta1", "architecture", "architecture.width"])
        XCTAssertTrue(yaml.sets("training.adam") && !yaml.sets("architecture.imageSize"))
        // Untouched: the struct's own defaults, not restated anywhere.
        XCTAssertEqual(yaml.value.training.batchSize, TrainingSettings().batchSize)
        XCTAssertEqual(yaml.value.training.adam.learningRate, TrainingSettings().adam.learningRate)
    }

    func testAnOptionalSettingThatIsNilByDefaultCanBeSet() throws {
        let defaults = OneClassBenchmarkSettings(dataDirectory: "/d", dataName: "mnist", normalClass: 0)
        let loaded = try SettingsFile.load(try file("o.yml", "trainLimit: 128\nnormalClass: 4\n"), over: defaults)
        XCTAssertEqual(loaded.value.trainLimit, 128)
        XCTAssertEqual(loaded.value.normalClass, 4)
        XCTAssertEqual(loaded.value.dataDirectory, "/d")
        // A fraction for a nil-by-default number (Double?, Float?), which was once taken for an integer.
        let fractions = try SettingsFile.load(try file("f.yml", "generatorAverageDecay: 0.999\n"), over: defaults)
        XCTAssertEqual(fractions.value.generatorAverageDecay, 0.999)
        let mapping = try SettingsFile.load(try file("m.yml", "finalLearningRate: 0.01\n"), over: MappingSettings())
        XCTAssertEqual(mapping.value.finalLearningRate, 0.01)
        // … while a nil-by-default integer still refuses one, naming the key.
        assertFileError(try SettingsFile.load(try file("i.yml", "trainLimit: 12.5\n"), over: defaults),
                        names: "i.yml", "trainLimit must be an integer")
    }

    func testUnknownKeysAndWrongTypesNameTheFileAndTheKey() throws {
        assertFileError(try SettingsFile.load(try file("u.json", #"{"training": {"epoch": 3}}"#), over: Sections()),
                        names: "u.json", "unknown setting training.epoch")
        assertFileError(try SettingsFile.load(try file("u.yaml", "trainig:\n  epochs: 3\n"), over: Sections()),
                        names: "u.yaml", "unknown setting trainig")
        assertFileError(try SettingsFile.load(try file("t.yaml", "training:\n  epochs: many\n"), over: Sections()),
                        names: "t.yaml", "training.epochs must be an integer")
        assertFileError(try SettingsFile.load(try file("f.json", #"{"training": {"epochs": 2.5}}"#), over: Sections()),
                        names: "f.json", "training.epochs")
        assertFileError(try SettingsFile.load(try file("l.yaml", "- 1\n- 2\n"), over: Sections()), names: "l.yaml", "mapping")
        assertFileError(try SettingsFile.load(try file("b.json", "{not json"), over: Sections()), names: "b.json", "not valid JSON")
        assertFileError(try SettingsFile.load(dir.appendingPathComponent("none.yaml"), over: Sections()), names: "none.yaml", "no such file")
        // One line each, for the CLI's one-line errors.
        do { _ = try SettingsFile.load(try file("y.yaml", "training: [\n"), over: Sections()); XCTFail("parsed broken YAML") } catch {
            XCTAssertFalse("\(error)".contains("\n"), "\(error)")
        }
    }
}
