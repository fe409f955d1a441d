module github.com/mutualcoop/mutual/crypto/interop

go 1.26.8

replace github.com/mutualcoop/mutual => ../..

require (
	github.com/mutualcoop/mutual v0.0.0
	go.mau.fi/libsignal v0.2.1
	google.golang.org/protobuf v1.36.12
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
)
