package logs

// CollectPasses is how many times c's consumer looked for records to
// deliver.
func CollectPasses(c *Consumer) int64 { return c.s.collects.Add(0) }
