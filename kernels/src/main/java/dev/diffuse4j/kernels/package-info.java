/** diffuse4j kernels. */
package dev.diffuse4j.kernels;
