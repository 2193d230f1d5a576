"""The intensity-based registration Slicer users reach for, run as their documentation runs it, each returning the
4x4 fixed RAS -> moving RAS it found (the direction of ITK transform files), or None when it fails.

- SimpleITK: CenteredTransformInitializer (moments), Euler 3D, Mattes mutual information (50 bins, 1 % random
  samples), gradient descent with physical-shift scales, three levels (shrink 4/2/1, smoothing 2/1/0 mm);
- elastix (itk-elastix): the default affine parameter map with automatic transform initialisation;
- ANTs (antspyx): `ants.registration(..., type_of_transform="Affine")` with its defaults.
Each maps points of the fixed image to the moving image; the matrix is read back by mapping a few points.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from KeypointEngineLib.geometry import RAS_FROM_LPS
from KeypointEngineLib.volume.preprocess import to_image

_PROBES = np.array([[0, 0, 0], [100, 0, 0], [0, 100, 0], [0, 0, 100], [50, -70, 30], [-60, 40, -80]], float)


def _ras_matrix(lps_map, centre_lps: np.ndarray) -> np.ndarray:
    """The 4x4 RAS matrix of an affine map of LPS points, read from where it takes probes about `centre_lps`."""
    points = _PROBES + centre_lps
    mapped = np.array([lps_map(point) for point in points])
    solution, *_ = np.linalg.lstsq(np.c_[points, np.ones(len(points))], mapped, rcond=None)
    lps = np.eye(4)
    lps[:3, :] = solution.T
    return RAS_FROM_LPS @ lps @ RAS_FROM_LPS


def _centre(image: sitk.Image) -> np.ndarray:
    return np.array(image.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in image.GetSize()]))


def simpleitk_mattes(fixed, moving, seed: int = 0) -> np.ndarray:
    fixed_image, moving_image = to_image(fixed.array, fixed.ijk_to_ras), to_image(moving.array, moving.ijk_to_ras)
    initial = sitk.CenteredTransformInitializer(fixed_image, moving_image, sitk.Euler3DTransform(),
                                                sitk.CenteredTransformInitializerFilter.MOMENTS)
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=50)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(0.01, seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsGradientDescent(learningRate=1.0, numberOfIterations=100, convergenceMinimumValue=1e-6,
                                         convergenceWindowSize=10)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([4, 2, 1])
    method.SetSmoothingSigmasPerLevel([2, 1, 0])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    method.SetInitialTransform(initial, inPlace=False)
    transform = method.Execute(fixed_image, moving_image)
    return _ras_matrix(lambda point: transform.TransformPoint(point.tolist()), _centre(fixed_image))


def _itk_image(volume):
    import itk

    image = to_image(volume.array, volume.ijk_to_ras)
    result = itk.image_from_array(np.ascontiguousarray(volume.array, dtype=np.float32))
    result.SetSpacing(image.GetSpacing())
    result.SetOrigin(image.GetOrigin())
    result.SetDirection(itk.matrix_from_array(np.reshape(image.GetDirection(), (3, 3))))
    return result, image


def elastix_affine(fixed, moving) -> np.ndarray:
    import itk

    fixed_image, reference = _itk_image(fixed)
    moving_image, _ = _itk_image(moving)
    parameters = itk.ParameterObject.New()
    parameters.AddParameterMap(parameters.GetDefaultParameterMap("affine"))
    parameters.SetParameter("AutomaticTransformInitialization", "true")
    _, result = itk.elastix_registration_method(fixed_image, moving_image, parameter_object=parameters,
                                                log_to_console=False)
    if result.GetNumberOfParameterMaps() != 1:
        raise RuntimeError("elastix returned more than one transform")
    values = np.array(result.GetParameter(0, "TransformParameters"), float)
    centre = np.array(result.GetParameter(0, "CenterOfRotationPoint"), float)
    linear, translation = values[:9].reshape(3, 3), values[9:12]
    return _ras_matrix(lambda point: linear @ (point - centre) + translation + centre, _centre(reference))


def ants_affine(fixed, moving) -> np.ndarray:
    import ants

    def ants_image(volume):
        image = to_image(volume.array, volume.ijk_to_ras)
        return ants.from_numpy(np.ascontiguousarray(volume.array.transpose(2, 1, 0), dtype=np.float32),
                               origin=image.GetOrigin(), spacing=image.GetSpacing(),
                               direction=np.reshape(image.GetDirection(), (3, 3))), image

    fixed_image, reference = ants_image(fixed)
    moving_image, _ = ants_image(moving)
    result = ants.registration(fixed_image, moving_image, type_of_transform="Affine")
    transform = ants.read_transform(result["fwdtransforms"][0])
    return _ras_matrix(lambda point: np.array(transform.apply_to_point(point.tolist())), _centre(reference))


INTENSITY_METHODS = {"SimpleITK Mattes MI": simpleitk_mattes, "elastix affine": elastix_affine,
                     "ANTs Affine": ants_affine}
