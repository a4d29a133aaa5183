import XCTest
final class ZooKitTestsPlaceholder: XCTestCase { func testNothing() {} }
