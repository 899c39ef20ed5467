/** diffuse4j pipelines. */
package dev.diffuse4j.pipelines;
