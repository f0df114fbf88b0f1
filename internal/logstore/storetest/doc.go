// Package storetest is the test suite every logstore.Storage must pass:
//
//	func TestSuite(t *testing.T) { storetest.Run(t, openFileStorage) }
//
// The opener receives a Config with a fake clock the suite advances; it
// must honour Sync, Retention, DedupeWindow, MaxSegmentBytes and
// MaxRecordBytes and close the storage when the test ends.
package storetest
