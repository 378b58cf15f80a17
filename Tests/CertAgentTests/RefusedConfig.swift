import CertAgent
import XCTest

/// The loader's refusal of a config a test expects to be refused (what `load` throws), or nil after a test failure
/// when it was accepted or failed some other way: the one copy of this check for the config tests.
func refusedConfig(file: StaticString = #filePath, line: UInt = #line, _ load: () throws -> AgentConfig) -> ConfigError? {
    do {
        _ = try load()
        XCTFail("expected the config to be refused", file: file, line: line)
    } catch let error as ConfigError {
        return error
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
    return nil
}
