// Regression tests for settings files the config fuzz harness found trapping
// (Yams force-unwraps non-string mapping keys); each is now a one-line FileError.

import Foundation
import Records
import TestSupport
@testable import Workflows
import XCTest

final class SettingsFileHostileTests: TemporaryDirectoryTestCase {
    func testNonScalarMappingKeysAreAnErrorNotATrap() throws {
        let url = dir.appendingPathComponent("settings.yaml")
        // The fuzzer's input after its selector byte: "?", 14 spaces, "ps: 1da", 25 bytes 0x96 (invalid UTF-8, read as U+FFFD).
        let crash = "?" + String(repeating: " ", count: 14) + "ps: 1da" + String(repeating: "\u{FFFD}", count: 25)
        for text in ["? [a, b]\n: 1\n", "{[1]: 2}\n", "? {epochs: 1}\n: 2\n", "adam:\n  ? [x]\n  : 1\n", crash] {
            assertFileError(try SettingsFile.parse(text, over: TrainingSettings(), file: url), names: "settings.yaml",
                            "setting names must be plain text")
        }
        XCTAssertEqual(try SettingsFile.parse("epochs: 3\n", over: TrainingSettings(), file: url).value.epochs, 3)
    }
}
