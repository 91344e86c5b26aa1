// Records with an id, so SwiftUI's List and ForEach take them as they are.

extension CareRequest: Identifiable {}
extension Circle: Identifiable {}
extension Collective: Identifiable {}
extension Comrade: Identifiable {}
extension Entry: Identifiable {}
extension Gathering: Identifiable {}
extension IssuedPass: Identifiable {}
extension Offer: Identifiable {}
extension Pulse: Identifiable {}
