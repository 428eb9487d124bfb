package main

import (
	"time"

	"github.com/ronghe/ronghe/rrs"
)

// shanghai is the business time zone every date shown to a person is in.
func shanghai() *time.Location { return rrs.Shanghai }
