import ZooKit
