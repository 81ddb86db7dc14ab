// Command blur is the image pipeline's blur service: it reads one image file
// and writes another (see the imagework package for what it does).
//
//	blur -in IN -out OUT [-radius 4]
package main

import "github.com/rightsize/rightsize/examples/services/imagework"

func main() { imagework.Main(imagework.BlurService) }
