import XCTest
final class ZooRegistryTestsPlaceholder: XCTestCase { func testNothing() {} }
