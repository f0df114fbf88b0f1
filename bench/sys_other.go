//go:build !linux

package main

import (
	"errors"
	"syscall"
)

func childAttr() *syscall.SysProcAttr { return nil }

func raiseFileLimit(uint64) (uint64, error) { return 0, errors.New("unsupported on this OS") }

func rssBytes(int) (int64, error) { return 0, errors.New("memory needs /proc (Linux)") }
